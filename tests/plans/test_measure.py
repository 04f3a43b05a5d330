"""The recipe plans on a plain RunEngine (no Lab): documents carry the recipe."""

from __future__ import annotations

import bluesky.plan_stubs as bps
import pytest
from bluesky import RunEngine
from bluesky.utils import FailedStatus

from smartlab_kernel.devices import SimulatedBench
from smartlab_kernel.plans import Recipe, measure_recipe, prepare_vial, recipe_grid, recipe_scan
from smartlab_kernel.testing import DocumentCollector, empty_reservoir, plan_devices

RECIPE = Recipe({"a": 3, "b": 2}, temperature_c=55, hold_s=600, stir_rpm=900, params={"s": 1})


def documents(run_engine: RunEngine) -> DocumentCollector:
    return run_engine.documents  # type: ignore[attr-defined, no-any-return]


def test_measure_recipe_documents(bench: SimulatedBench, run_engine: RunEngine) -> None:
    (uid,) = run_engine(measure_recipe(RECIPE, md={"campaign": "c1"}, **plan_devices(bench)))
    docs = documents(run_engine)
    (start,) = docs.starts
    assert start["uid"] == uid
    assert start["plan_name"] == "measure_recipe"
    assert start["recipe"] == RECIPE.as_dict()
    assert start["num_points"] == 1 and start["campaign"] == "c1"
    (event,) = docs.events("primary")
    data = event["data"]
    assert data["spectrometer_vial_id"] == "V0001"
    assert data["reactor_setpoint"] == 55.0 and data["reactor_stir_rpm"] == 900.0
    assert data["dispenser_a_remaining"] == pytest.approx(47.0)
    assert data["dispenser_b_remaining"] == pytest.approx(48.0)
    assert data["spectrometer_readout"] > 10.0  # a real reaction happened
    assert docs.stops[0]["exit_status"] == "success"
    assert bench.world.occupied() == {}  # disposed to waste


def test_measure_recipe_keeps_the_vial_when_asked(
    bench: SimulatedBench, run_engine: RunEngine
) -> None:
    run_engine(measure_recipe(RECIPE, dispose=False, **plan_devices(bench)))
    assert bench.world.occupied() == {"spectrometer": "V0001"}
    vial = bench.world.vial_at("spectrometer")
    assert vial is not None and vial.hold_s == 600.0 and vial.volumes_ml == {"a": 3.0, "b": 2.0}


def test_recipe_scan_one_run_per_recipe(bench: SimulatedBench, run_engine: RunEngine) -> None:
    recipes = recipe_grid(RECIPE, temperature_c=[40, 70], hold_s=[300])
    uids = run_engine(recipe_scan(recipes, md={"campaign_id_user": "x"}, **plan_devices(bench)))
    docs = documents(run_engine)
    assert len(uids) == 2 and [s["uid"] for s in docs.starts] == list(uids)
    for index, start in enumerate(docs.starts):
        assert start["scan_index"] == index and start["scan_length"] == 2
        assert start["recipe"]["temperature_c"] == [40, 70][index]
        assert start["recipe"]["params"] == {"temperature_c": [40, 70][index], "hold_s": 300}
        assert start["campaign_id_user"] == "x"
    assert [s["exit_status"] for s in docs.stops] == ["success", "success"]
    vials = [e["data"]["spectrometer_vial_id"] for e in docs.events("primary")]
    assert vials == ["V0001", "V0002"]


def test_unknown_stock_is_refused_before_anything_moves(
    bench: SimulatedBench, run_engine: RunEngine
) -> None:
    with pytest.raises(ValueError, match=r"stocks \['acid'\] the dispenser does not have"):
        run_engine(measure_recipe(Recipe({"acid": 1}), **plan_devices(bench)))
    assert documents(run_engine).stops[0]["exit_status"] == "fail"
    assert bench.world.occupied() == {}


def test_empty_reservoir_fails_the_run_with_a_clear_reason(
    bench: SimulatedBench, run_engine: RunEngine
) -> None:
    with empty_reservoir(bench.dispenser.b, remaining_ml=1.0):
        with pytest.raises(ValueError) as info:
            run_engine(measure_recipe(RECIPE, **plan_devices(bench)))
        assert bench.dispenser.b.remaining.get() == 1.0
    assert "cannot dispense 2 mL of 'b', only 1 mL left" in str(info.value)
    (stop,) = documents(run_engine).stops
    assert stop["exit_status"] == "fail"
    assert "only 1 mL left" in stop["reason"]


def test_out_of_limit_setpoint_in_a_plan(bench: SimulatedBench, run_engine: RunEngine) -> None:
    def plan():  # type: ignore[no-untyped-def]
        yield from bps.open_run()
        yield from bps.mv(bench.reactor, 500)
        yield from bps.close_run()

    with pytest.raises((FailedStatus, ValueError), match="500"):
        run_engine(plan())
    assert (
        "500.0 degC is outside the allowed range [15, 150]"
        in documents(run_engine).stops[0]["reason"]
    )


def test_prepare_vial_alone(bench: SimulatedBench, run_engine: RunEngine) -> None:
    devices = plan_devices(bench)
    del devices["spectrometer"]
    run_engine(prepare_vial(RECIPE, **devices))
    vial = bench.world.vial_at("reactor")
    assert vial is not None and vial.hold_s == 600.0

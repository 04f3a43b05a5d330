"""The LIMS wired to a running lab: samples, stock and runs kept in step with the plans.

Runs on SQLite and on the real PostgreSQL (the ``lims`` fixture).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from smartlab_kernel import Lab
from smartlab_kernel.lims import AuditHead, InsufficientStockError, LimsStore
from smartlab_kernel.lims_link.link import MIXTURE, LimsLink, attach_lims
from smartlab_kernel.plans import Recipe, measure_recipe
from smartlab_kernel.testing import inject, plan_devices, reset_bench

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def shared_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    lab = Lab.simulated(
        seed=3,
        directory=tmp_path_factory.mktemp("lims-lab"),
        time_scale=5000,
        operator="ana",
        device_timeout=1.0,
    )
    yield lab
    lab.close()


@pytest.fixture
def linked(shared_lab: Lab, lims: LimsStore) -> Iterator[tuple[Lab, LimsLink]]:
    reset_bench(shared_lab)
    link = attach_lims(shared_lab, lims)
    yield shared_lab, link
    shared_lab.lims = None


def _recipe() -> Recipe:
    return Recipe({"a": 3.0, "b": 2.0}, temperature_c=50.0, hold_s=60.0)


def _amounts(store: LimsStore) -> dict[str, float]:
    return {item.name: item.amount for item in store.items()}


def test_a_recipe_run_makes_a_sample_takes_its_stock_and_is_recorded(
    linked: tuple[Lab, LimsLink],
) -> None:
    lab, link = linked
    store = link.store
    before = _amounts(store)
    assert before == {"stock_A": 50.0, "stock_B": 50.0, "stock_SOLVENT": 100.0}
    run = lab.submit(measure_recipe(_recipe(), **plan_devices(lab)), campaign_id="camp-L")
    (uid,) = run.wait(60)
    lab.wait(60)

    start = lab.catalog[uid].metadata["start"]
    (sample_id,) = start["sample_ids"]
    sample = store.get_sample(sample_id)
    assert sample.sample_type == MIXTURE and sample.state == "measured"
    assert sample.location == "waste"  # followed the robot's moves
    assert sample.campaign_id == "camp-L"
    stock_samples = {store.get_item(n).sample_id for n in ("stock_A", "stock_B")}
    assert set(store.lineage(sample_id).ancestors) == stock_samples
    assert _amounts(store) == pytest.approx({**before, "stock_A": 47.0, "stock_B": 48.0})
    assert [r.run_uid for r in store.runs_of_sample(sample_id)] == [uid]
    assert [s.sample_id for s in store.samples_of_campaign("camp-L")] == [sample_id]
    history = [entry.action for entry in store.history(sample_id)]
    assert history[0] == "register_sample" and "transition" in history
    assert store.verify_audit().ok


def test_a_failed_dispense_takes_no_stock(linked: tuple[Lab, LimsLink]) -> None:
    lab, link = linked
    store = link.store
    before = _amounts(store)
    bench = lab.bench
    assert bench is not None
    with inject(bench.dispenser.b, "timeout"):
        run = lab.submit(measure_recipe(_recipe(), **plan_devices(lab)))
        with pytest.raises(Exception, match="dispenser_b"):
            run.wait(60)
    lab.wait(60)
    assert run.state == "failed" and "dispenser_b" in run.reason
    # Pump b's 2 mL never left its reservoir, so its stock is as it was. Pump a's
    # 3 mL did (into the vial the failed run leaves behind): the LIMS says so too.
    assert bench.dispenser.remaining()["a"] == pytest.approx(47.0)
    assert _amounts(store) == pytest.approx({**before, "stock_A": 47.0})
    (uid,) = run.uids
    (sample_id,) = lab.catalog[uid].metadata["start"]["sample_ids"]
    assert store.get_sample(sample_id).state == "invalidated"
    (record,) = store.runs_of_sample(sample_id)
    assert record.metadata["exit_status"] == "fail"


def test_stock_the_lims_lacks_fails_the_step_before_anything_moves(
    linked: tuple[Lab, LimsLink],
) -> None:
    lab, link = linked
    store = link.store
    store.consume("stock_A", "48.5 mL")  # the LIMS knows of 1.5 mL; the reservoir is full
    (missing,) = link.shortfalls({"a": 3.0, "b": 2.0})
    assert missing.startswith("stock_A: requested 3")
    assert link.shortfalls({"a": 1.0, "b": 2.0}) == []
    bench = lab.bench
    assert bench is not None
    reservoir_before = bench.dispenser.remaining()
    run = lab.submit(measure_recipe(_recipe(), **plan_devices(lab)))
    with pytest.raises(InsufficientStockError, match="stock_A"):
        run.wait(60)
    lab.wait(60)
    assert run.state == "failed" and "stock_A" in run.reason
    assert bench.dispenser.remaining() == reservoir_before  # no pump moved
    assert _amounts(store)["stock_A"] == pytest.approx(1.5)


def test_attach_names_pumps_the_dispenser_lacks(shared_lab: Lab, tmp_path: Path) -> None:
    with (
        LimsStore.open(tmp_path / "l.sqlite") as store,
        pytest.raises(KeyError, match=r"pumps \['z'\] the dispenser lacks"),
    ):
        LimsLink(store, shared_lab.devices, "ana", stocks={"z": "stock_Z"})


def test_a_campaign_rejects_suggestions_the_stock_cannot_make(
    linked: tuple[Lab, LimsLink],
) -> None:
    from smartlab_kernel.campaign.loop import bench_planner, campaign

    lab, link = linked
    planner = bench_planner(seed=2)
    store = link.store
    # every bench recipe takes at least 0.5 mL of stock a (a_fraction >= 0.1 of 5 mL)
    store.consume("stock_A", f"{store.get_item('stock_A').amount - 0.4} mL")
    run = lab.submit(campaign(lab, planner, budget=1))
    with pytest.raises(RuntimeError, match="lacks stock for every suggestion"):
        run.wait(120)
    rejected = [r for r in planner.history if r.get("decision") == "reject"]
    assert len(rejected) == 3  # three rounds of one suggestion each
    assert all(r["reason"].startswith("not in stock: stock_A: requested") for r in rejected)
    assert not [r for r in planner.history if r.get("decision") in ("auto", "accept")]


def test_each_start_document_anchors_the_audit_head(linked: tuple[Lab, LimsLink]) -> None:
    lab, link = linked
    store = link.store
    run = lab.submit(measure_recipe(_recipe(), **plan_devices(lab)))
    (uid,) = run.wait(60)
    lab.wait(60)
    start = lab.catalog[uid].metadata["start"]
    head = AuditHead.from_dict(start["lims_audit_head"])
    entry = store.audit_entries()[head.seq - 1]
    assert entry.hash == head.hash
    assert entry.action == "register_sample" and entry.entity == f"sample:{start['sample_ids'][0]}"
    result = link.verify_audit(lab.catalog)
    assert result.ok and result.anchors_checked >= 1, str(result)

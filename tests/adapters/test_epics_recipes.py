"""Recipe plans through a Lab whose instruments are caproto IOCs of their own shapes and units.

The reactor is the instruments IOC's hotplate, which works in kelvin; the
motor is a motor record in mm and the detector a counter. A recipe is written
in degC, rpm, mL and s: each value must reach its device in the device's units,
and the catalog must say which units each reading is in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from smartlab_kernel.devices.labconfig import build_devices, load_lab_config
from smartlab_kernel.plans import Recipe, measure_recipe, recipe_grid, recipe_scan

from .conftest import IocFactory, LabWith
from .instruments_peer import InstrumentsFactory, instruments_ioc  # noqa: F401

pytestmark = pytest.mark.timeout(120)


def lab_devices(directory: Path, prefix: str) -> dict[str, Any]:
    """A simulated dispenser, robot and spectrometer beside the IOC's hotplate, motor, counter."""
    path = directory / "lab.yaml"
    path.write_text(
        f"""
simulation: {{seed: 3, time_scale: 1000}}
devices:
  dispenser: {{kind: simulated, model: dispenser}}
  robot: {{kind: simulated, model: robot}}
  spectrometer: {{kind: simulated, model: spectrometer}}
  hotplate:
    kind: epics
    device_class: setpoint_readback
    prefix: "{prefix}HP:"
    setpoint: "T:SP"
    readback: "T:RBV"
    done: "T:DONE"
    tolerance: 0.1
    settle_timeout: 30
  stage:
    kind: epics
    device_class: motor
    prefix: "{prefix}M1"
    settle_timeout: 20
  counter:
    kind: epics
    device_class: detector
    prefix: "{prefix}DET:"
    acquire: ACQUIRE
    reads: {{counts: COUNTS, intensity: INTENSITY}}
    acquire_timeout: 5
""",
        encoding="utf-8",
    )
    devices = build_devices(load_lab_config(path))
    for device in devices.values():
        device.wait_for_connection(timeout=10)
    return devices


def test_a_recipe_in_degc_heats_a_hotplate_in_kelvin_to_the_same_temperature(
    instruments_ioc: InstrumentsFactory,  # noqa: F811
    lab_with: LabWith,
    tmp_path: Path,
) -> None:
    instruments_ioc("R1:")
    devices = lab_devices(tmp_path, "R1:")
    lab = lab_with(devices)
    recipe = Recipe({"a": 3, "b": 2}, temperature_c=60, hold_s=0.5, stir_rpm=0)
    plan = measure_recipe(
        recipe,
        dispenser=devices["dispenser"],
        reactor=devices["hotplate"],
        robot=devices["robot"],
        spectrometer=devices["spectrometer"],
    )
    (uid,) = lab.submit(plan).wait(60)
    lab.wait(30)
    stored = lab.catalog[uid]
    assert stored.metadata["stop"]["exit_status"] == "success"
    # the recipe is recorded in its own units ...
    assert stored.metadata["start"]["recipe"]["temperature_c"] == 60.0
    # ... and the hotplate got (and reached) 60 degC in its own: 333.15 K, not 60 K
    data = stored["primary"].read()
    assert float(data["hotplate_setpoint"].values[0]) == pytest.approx(333.15)
    assert float(data["hotplate_readback"].values[0]) == pytest.approx(333.15, abs=0.1)
    keys = stored["primary"].metadata["data_keys"]
    assert keys["hotplate_setpoint"]["units"] == keys["hotplate_readback"]["units"] == "K"
    assert float(data["dispenser_a_remaining"].values[0]) == pytest.approx(47.0)


def test_a_recipe_that_stirs_is_refused_on_a_hotplate_that_cannot_before_anything_moves(
    instruments_ioc: InstrumentsFactory,  # noqa: F811
    lab_with: LabWith,
    tmp_path: Path,
) -> None:
    instruments_ioc("R2:")
    devices = lab_devices(tmp_path, "R2:")
    lab = lab_with(devices)
    plan = measure_recipe(
        Recipe({"a": 1}, temperature_c=40, hold_s=1, stir_rpm=300),
        dispenser=devices["dispenser"],
        reactor=devices["hotplate"],
        robot=devices["robot"],
        spectrometer=devices["spectrometer"],
    )
    run = lab.submit(plan)
    with pytest.raises(ValueError, match=r"stir_rpm is 300 rpm but reactor 'hotplate' has no"):
        run.wait(30)
    assert devices["hotplate"].setpoint.get() == pytest.approx(293.15)  # nothing was sent
    assert float(devices["dispenser"].a.remaining.get()) == pytest.approx(50.0)


def test_a_recipe_scan_with_a_hotplate_in_k_a_motor_and_a_detector_records_their_units(
    instruments_ioc: InstrumentsFactory,  # noqa: F811
    lab_with: LabWith,
    tmp_path: Path,
) -> None:
    """Issue 20's done-when: units right in the catalog and in the widgets."""
    instruments_ioc("R3:")
    devices = lab_devices(tmp_path, "R3:")
    hotplate, stage, counter = devices["hotplate"], devices["stage"], devices["counter"]
    lab = lab_with(devices)
    stage.set(12.5).wait(20)  # mm, the motor record's EGU
    from smartlab_kernel.widgets import DevicePanel, LivePlot

    plot = LivePlot(lab, y="hotplate_readback", x="counter_counts")
    recipes = recipe_grid(
        Recipe({"a": 2, "b": 1}, hold_s=0.2, stir_rpm=0), temperature_c=[30.0, 45.0]
    )
    plan = recipe_scan(
        recipes,
        dispenser=devices["dispenser"],
        reactor=hotplate,
        robot=devices["robot"],
        spectrometer=counter,
        readables=[stage],
        md={"plan_purpose": "issue 20"},
    )
    uids = lab.submit(plan).wait(90)
    lab.wait(30)
    assert len(uids) == 2
    for uid, celsius in zip(uids, (30.0, 45.0), strict=True):
        stored = lab.catalog[uid]
        assert stored.metadata["stop"]["exit_status"] == "success"
        assert stored.metadata["start"]["recipe"]["temperature_c"] == celsius
        data = stored["primary"].read()
        kelvin = celsius + 273.15
        assert float(data["hotplate_setpoint"].values[0]) == pytest.approx(kelvin)
        assert float(data["hotplate_readback"].values[0]) == pytest.approx(kelvin, abs=0.1)
        assert float(data["stage"].values[0]) == pytest.approx(12.5, abs=1e-3)
        assert float(data["counter_counts"].values[0]) > 0
        units = {k: v.get("units") for k, v in stored["primary"].metadata["data_keys"].items()}
        assert units["hotplate_setpoint"] == units["hotplate_readback"] == "K"
        assert units["stage"] == "mm"
        assert units["counter_counts"] == "counts"
        assert units["counter_intensity"] == "counts/s"
        assert units["dispenser_a_remaining"] == "mL"
    # the widgets: the live plot's axes and the device panel are in each device's own units
    plot.flush()
    assert plot.y_label == "Hotplate readback (K)"
    assert plot.x_label == "Counter counts (counts)"
    plot.close()
    panel = DevicePanel(hotplate, poll_interval=None)
    assert panel.units["readback"] == panel.units["setpoint"] == "K"
    assert panel.readbacks["readback"].value.endswith(" K")
    assert panel.readbacks["setpoint"].value == "318.1 K"  # 45 degC, shown to 4 figures
    assert panel.entries["setpoint"].placeholder == "273.15 to 573.15 K"
    stage_panel = DevicePanel(stage, poll_interval=None)
    assert stage_panel.units["user_readback"] == "mm"
    panel.close()
    stage_panel.close()


def test_a_recipe_runs_on_an_ophyd_async_reactor_its_units_read_on_the_run_engines_loop(
    reactor_ioc: IocFactory,
    lab_with: LabWith,
    tmp_path: Path,
) -> None:
    pytest.importorskip("ophyd_async")
    reactor_ioc("RA1:REACTOR:")
    path = tmp_path / "lab.yaml"
    path.write_text(
        """
simulation: {seed: 3, time_scale: 1000}
devices:
  dispenser: {kind: simulated, model: dispenser}
  robot: {kind: simulated, model: robot}
  spectrometer: {kind: simulated, model: spectrometer}
  heater:
    kind: ophyd_async
    device_class: smartlab_kernel.devices.adapters.ophyd_async_reactor:AsyncEpicsReactor
    prefix: "RA1:REACTOR:"
    options: {tolerance: 0.5, settle_timeout: 30}
    connection_timeout: 5
""",
        encoding="utf-8",
    )
    devices = build_devices(load_lab_config(path))
    lab = lab_with(devices)
    plan = measure_recipe(
        Recipe({"a": 1, "b": 1}, temperature_c=45, hold_s=0.2, stir_rpm=300),
        dispenser=devices["dispenser"],
        reactor=devices["heater"],
        robot=devices["robot"],
        spectrometer=devices["spectrometer"],
    )
    (uid,) = lab.submit(plan).wait(60)
    lab.wait(30)
    stored = lab.catalog[uid]
    assert stored.metadata["stop"]["exit_status"] == "success"
    data = stored["primary"].read()
    assert float(data["heater"].values[0]) == pytest.approx(45.0, abs=0.5)  # IOC in degC
    assert float(data["heater_stir_rpm"].values[0]) == 300.0
    assert stored["primary"].metadata["data_keys"]["heater"]["units"] == "degC"

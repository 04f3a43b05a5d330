"""describe(), read() and read_configuration() are consistent, as Bluesky needs them to be."""

from __future__ import annotations

import bluesky.plans as bp
import numpy as np
import pytest
from bluesky import RunEngine
from ophyd import Device

from smartlab_kernel.devices import SimulatedBench


def check_consistent(device: Device) -> None:
    described = device.describe()
    reading = device.read()
    assert described.keys() == reading.keys()
    config_described = device.describe_configuration()
    config = device.read_configuration()
    assert config_described.keys() == config.keys()
    for key, info in {**described, **config_described}.items():
        value = {**reading, **config}[key]["value"]
        assert info["source"]
        if info["dtype"] == "array":
            assert list(np.shape(value)) == list(info["shape"]), key
        elif info["dtype"] == "number":
            assert isinstance(value, int | float), key
        elif info["dtype"] == "string":
            assert isinstance(value, str), key


@pytest.mark.parametrize("name", ["dispenser", "reactor", "spectrometer", "robot"])
def test_count_on_a_plain_run_engine(
    name: str, bench: SimulatedBench, run_engine: RunEngine
) -> None:
    bench.world.new_vial("spectrometer")
    bench.spectrometer.integration_time.put(0.01)
    device = bench.devices[name]
    check_consistent(device)
    run_engine(bp.count([device], num=3))
    docs = run_engine.documents  # type: ignore[attr-defined]
    (descriptor,) = docs.descriptors
    assert descriptor["data_keys"].keys() == device.describe().keys()
    assert descriptor["configuration"][name]["data"].keys() == device.read_configuration().keys()
    events = docs.events("primary")
    assert [e["seq_num"] for e in events] == [1, 2, 3]
    assert all(e["data"].keys() == device.describe().keys() for e in events)
    assert docs.stops[0]["exit_status"] == "success"
    assert docs.stops[0]["num_events"] == {"primary": 3}


def test_units_limits_and_hints_are_described(bench: SimulatedBench) -> None:
    reactor = bench.reactor.describe()
    assert reactor["reactor_temperature"]["units"] == "degC"
    assert reactor["reactor_setpoint"]["limits"]["control"] == {"low": 15.0, "high": 150.0}
    assert bench.reactor.hints == {"fields": ["reactor_temperature"]}
    spectrometer = bench.spectrometer.describe()
    assert spectrometer["spectrometer_readout"]["units"] == "%"
    assert spectrometer["spectrometer_spectrum"]["dtype"] == "array"
    assert bench.dispenser.a.describe()["dispenser_a_remaining"]["units"] == "mL"
    assert "dispenser_a_flow_rate" in bench.dispenser.read_configuration()

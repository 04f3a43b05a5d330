"""The lab configuration file: valid files build devices; bad inputs give clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from smartlab_kernel.devices import Reactor
from smartlab_kernel.devices.adapters import EpicsReactorBase
from smartlab_kernel.devices.labconfig import (
    LabConfigError,
    build_devices,
    load_lab_config,
    parse_config_text,
)

YAML = """
lab:
  name: teaching-lab
simulation:
  seed: 3
  time_scale: 1000
devices:
  hotplate:
    kind: epics
    prefix: "LAB:HP1:"
    pvs: {temperature: "T:RBV", time_constant: null}
  reactor:
    kind: simulated
    model: reactor
"""

TOML = """
[simulation]
seed = 3

[devices.hotplate]
kind = "epics"
prefix = "LAB:HP1:"

[devices.spectrometer]
kind = "sila2"
port = 50052
"""


def test_yaml_file_builds_devices_with_defaults(tmp_path: Path) -> None:
    path = tmp_path / "lab.yaml"
    path.write_text(YAML, encoding="utf-8")
    config = load_lab_config(path)
    assert config.name == "teaching-lab"
    assert list(config.devices) == ["hotplate", "reactor"]
    hotplate = config.devices["hotplate"]
    assert hotplate.settings["settle_timeout"] == 600.0
    assert hotplate.settings["tolerance"] == 0.5
    assert hotplate.endpoint() == "PV prefix LAB:HP1:"
    devices = build_devices(config)
    assert isinstance(devices["hotplate"], EpicsReactorBase)
    assert devices["hotplate"].temperature.pvname == "LAB:HP1:T:RBV"
    assert "time_constant" not in devices["hotplate"].component_names
    assert devices["hotplate"].tolerance.get() == 0.5
    assert isinstance(devices["reactor"], Reactor)
    assert devices["reactor"].world.clock.time_scale == 1000


def test_toml_file_is_read_too(tmp_path: Path) -> None:
    path = tmp_path / "lab.toml"
    path.write_text(TOML, encoding="utf-8")
    config = load_lab_config(path)
    assert config.devices["spectrometer"].settings == {
        "host": "127.0.0.1",
        "port": 50052,
        "insecure": True,
        "feature": "",
        "timeout": 10.0,
    }
    assert config.devices["spectrometer"].endpoint() == "127.0.0.1:50052"


def problems_of(text: str, format: str = "yaml") -> list[str]:
    with pytest.raises(LabConfigError) as info:
        parse_config_text(text, format)
    return info.value.problems


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "devices:\n  pump:\n    kind: modbus\n",
            "device 'pump': unknown kind 'modbus'; allowed kinds: ['epics', ",
        ),
        (
            "devices:\n  hotplate:\n    kind: epics\n",
            "device 'hotplate' (kind 'epics'): missing required field 'prefix'",
        ),
        (
            "devices:\n  spec:\n    kind: sila2\n    port: '50052'\n",
            "device 'spec' (kind 'sila2'): field 'port' = '50052' has the wrong type str; "
            "it must be an integer",
        ),
        (
            "devices:\n  spec:\n    kind: sila2\n    port: 70000\n",
            "device 'spec' (kind 'sila2'): field 'port' = 70000 is not allowed; "
            "it must be a port number from 1 to 65535",
        ),
        (
            "devices:\n  spec:\n    kind: sila2\n    port: 50052\n    prot: 1\n",
            "device 'spec' (kind 'sila2'): unknown field 'prot'; allowed fields: ",
        ),
        (
            "devices:\n  hp:\n    kind: epics\n    prefix: 'A:'\n    settle_timeout: -1\n",
            "field 'settle_timeout' = -1 is not allowed; it must be a finite number > 0",
        ),
        (
            "devices:\n  hp:\n    prefix: 'A:'\n",
            "device 'hp': missing required field 'kind'",
        ),
        (
            "devices:\n  r:\n    kind: simulated\n    model: oven\n",
            "field 'model' = 'oven' is not allowed; it must be one of "
            "['dispenser', 'reactor', 'spectrometer', 'robot']",
        ),
        ("devices: {}\n", "section 'devices' must be a non-empty mapping"),
        ("devices:\n  2bad:\n    kind: epics\n", "device name '2bad' must be an identifier"),
        (
            "lab: {}\ninstruments: {}\ndevices: {x: {kind: simulated, model: robot}}\n",
            "unknown section 'instruments'",
        ),
        (
            "simulation: {time_scale: 0}\ndevices: {x: {kind: simulated, model: robot}}\n",
            "section 'simulation': field 'time_scale' = 0 is not allowed",
        ),
        (
            "devices:\n  lh:\n    kind: pylabrobot\n    resources:\n      - {name: p, type: x}\n",
            "device 'lh': resources[0]: give exactly one of 'rails' (Hamilton decks) or 'slot'",
        ),
        (
            "devices:\n  lh:\n    kind: pylabrobot\n    liquids: {'p:A1': -5}\n",
            "device 'lh': liquids['p:A1'] = -5 must be a volume in uL >= 0",
        ),
    ],
)
def test_bad_inputs_name_the_device_field_value_and_what_is_allowed(
    text: str, expected: str
) -> None:
    problems = problems_of(text)
    assert any(expected in problem for problem in problems), problems


def test_every_problem_is_reported_at_once() -> None:
    text = (
        "devices:\n"
        "  a:\n    kind: epics\n"
        "  b:\n    kind: sila2\n    port: 0\n"
        "  c:\n    kind: nope\n"
    )
    problems = problems_of(text)
    assert len(problems) == 3
    message = str(LabConfigError(problems, "lab.yaml"))
    assert message.startswith("invalid lab configuration lab.yaml:\n  - line 2: device 'a'")


def test_unparsable_files_and_unknown_suffixes(tmp_path: Path) -> None:
    assert "not valid YAML" in problems_of("devices: [unclosed\n")[0]
    assert "not valid TOML" in problems_of("[devices\n", "toml")[0]
    json_file = tmp_path / "lab.json"
    json_file.write_text("{}", encoding="utf-8")
    with pytest.raises(LabConfigError, match=r"unknown file type '.json'"):
        load_lab_config(json_file)
    with pytest.raises(FileNotFoundError):
        load_lab_config(tmp_path / "missing.yaml")


def test_pvs_keys_and_values_are_checked_with_the_file_and_line() -> None:
    text = (
        "devices:\n"
        "  hp:\n    kind: epics\n    prefix: 'A:'\n    pvs: {temprature: X, setpoint: 5}\n"
        "  ok:\n    kind: epics\n    prefix: 'B:'\n    pvs: {time_constant: null}\n"
    )
    with pytest.raises(LabConfigError) as caught:
        parse_config_text(text, "yaml", "lab.yaml")
    problems = caught.value.problems
    assert caught.value.source == "lab.yaml"
    assert problems == [
        "line 2: device 'hp': pvs: unknown component 'temprature'; allowed: "
        "['setpoint', 'stir_readback', 'stir_setpoint', 'temperature', 'time_constant']",
        "line 2: device 'hp': pvs: 'setpoint' = 5 must be a PV suffix, a non-empty string "
        "such as 'TEMP_SP'",
    ]


def test_a_device_named_twice_is_reported_not_silently_replaced() -> None:
    text = (
        "devices:\n"
        "  reactor: {kind: simulated, model: reactor}\n"
        "  robot: {kind: simulated, model: robot}\n"
        "  reactor: {kind: simulated, model: dispenser}\n"
    )
    assert problems_of(text) == [
        "device 'reactor' is given twice (lines 2 and 4); each device needs its own name"
    ]


def test_an_unknown_labware_type_is_caught_when_the_file_is_read() -> None:
    pytest.importorskip("pylabrobot")
    text = (
        "devices:\n  lh:\n    kind: pylabrobot\n"
        "    resources: [{name: plate, type: no_such_plate, rails: 9}]\n"
    )
    [problem] = problems_of(text)
    assert "resources[0]: labware type 'no_such_plate' is not a resource definition" in problem


def test_build_errors_name_the_device() -> None:
    twice = parse_config_text(
        "devices:\n  r1: {kind: simulated, model: reactor}\n"
        "  r2: {kind: simulated, model: reactor}\n",
        "yaml",
    )
    with pytest.raises(LabConfigError, match=r"devices \['r1', 'r2'\] are all simulated"):
        build_devices(twice)


GENERIC_EPICS = """
devices:
  hotplate:
    kind: epics
    device_class: setpoint_readback
    prefix: "LAB:HP:"
    setpoint: "T:SP"
    readback: "T:RBV"
    done: "T:DONE"
    tolerance: 0.1
    settle_time: 2
    limits: [280, 320]
  stage: {kind: epics, device_class: motor, prefix: "LAB:M1", settle_timeout: 30}
  counter:
    kind: epics
    device_class: detector
    prefix: "LAB:DET:"
    acquire: ACQUIRE
    reads: {counts: COUNTS, intensity: INTENSITY}
  plate:
    kind: epics
    device_class: pv_positioner
    prefix: "LAB:HP:"
    setpoint: "T:SP"
    done: "T:DONE"
    done_value: 1
    stop: STOP
"""


def test_generic_epics_classes_build_ophyd_devices_of_their_shape() -> None:
    from ophyd import EpicsMotor, PVPositioner

    from smartlab_kernel.devices.adapters.epics_detector import EpicsDetectorBase
    from smartlab_kernel.devices.adapters.epics_setpoint_readback import (
        EpicsSetpointReadbackBase,
    )

    config = parse_config_text(GENERIC_EPICS, "yaml")
    assert config.devices["hotplate"].settings["put_complete"] is True  # the default
    devices = build_devices(config)
    hotplate = devices["hotplate"]
    assert isinstance(hotplate, EpicsSetpointReadbackBase)
    assert hotplate.setpoint.pvname == "LAB:HP:T:SP"
    assert hotplate.readback.pvname == "LAB:HP:T:RBV"
    assert hotplate.done.pvname == "LAB:HP:T:DONE"
    assert hotplate.tolerance.get() == 0.1 and hotplate.settle_time == 2.0
    assert hotplate.lab_limits == (280.0, 320.0)
    stage = devices["stage"]
    assert isinstance(stage, EpicsMotor) and stage.user_readback.pvname == "LAB:M1.RBV"
    assert stage.settle_timeout == 30.0
    counter = devices["counter"]
    assert isinstance(counter, EpicsDetectorBase)
    assert counter.acquire.pvname == "LAB:DET:ACQUIRE"
    assert counter.read_names == ("counts", "intensity")
    assert [c for c in counter.component_names if c != "acquire"] == ["counts", "intensity"]
    plate = devices["plate"]
    assert isinstance(plate, PVPositioner)
    assert plate.done.pvname == "LAB:HP:T:DONE" and plate.stop_signal.pvname == "LAB:HP:STOP"
    assert not hasattr(plate, "readback") or plate.readback is None


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (
            "{kind: epics, device_class: setpoint_readback, prefix: 'A:', readback: R}",
            "device 'x' (kind 'epics', device_class 'setpoint_readback'): missing required "
            "field 'setpoint'",
        ),
        (
            "{kind: epics, device_class: setpoint_readback, prefix: 'A:', setpoint: S, "
            "readback: R}",
            "missing required field 'tolerance'",
        ),
        (
            "{kind: epics, device_class: setpoint_readback, prefix: 'A:', setpoint: S, "
            "readback: R, tolerance: 1, pvs: {}}",
            "device_class 'setpoint_readback'): unknown field 'pvs'; allowed fields: ",
        ),
        (
            "{kind: epics, device_class: setpoint_readback, prefix: 'A:', setpoint: 'S P', "
            "readback: R, tolerance: 1}",
            "field 'setpoint' = 'S P' is not allowed; it must be a PV suffix",
        ),
        (
            "{kind: epics, device_class: setpoint_readback, prefix: 'A:', setpoint: S, "
            "readback: R, tolerance: 1, limits: [5, 1]}",
            "field 'limits' = [5, 1] must be [low, high], two numbers with low < high",
        ),
        (
            "{kind: epics, device_class: setpoint_readback, prefix: 'A:', setpoint: S, "
            "readback: R, tolerance: -1}",
            "field 'tolerance' = -1 is not allowed; it must be a finite number >= 0",
        ),
        (
            "{kind: epics, device_class: stepper, prefix: 'A:', setpoint: S}",
            "field 'device_class' = 'stepper' is not allowed; it must be one of ['reactor', "
            "'setpoint_readback', 'pv_positioner', 'motor', 'detector', 'area_detector']",
        ),
        (
            "{kind: epics, device_class: detector, prefix: 'A:', acquire: ACQ, "
            "reads: {acquire: X, 2x: Y, ok: 5}}",
            "reads: name 'acquire' must be an identifier other than 'acquire'",
        ),
        (
            "{kind: epics, device_class: detector, prefix: 'A:', acquire: ACQ, reads: {ok: 5}}",
            "reads: 'ok' = 5 must be a PV suffix, a non-empty string such as 'COUNTS'",
        ),
        (
            "{kind: epics, device_class: detector, prefix: 'A:', acquire: ACQ, reads: {}}",
            "reads: give at least one 'name: PV suffix'",
        ),
        (
            "{kind: epics, device_class: pv_positioner, prefix: 'A:', setpoint: S}",
            "missing required field 'done'",
        ),
        (
            "{kind: epics, device_class: motor, prefix: 'A:M1', tolerance: 1}",
            "device_class 'motor'): unknown field 'tolerance'",
        ),
    ],
)
def test_generic_epics_fields_are_checked_by_device_class(entry: str, expected: str) -> None:
    problems = problems_of(f"devices:\n  x: {entry}\n")
    assert any(expected in problem for problem in problems), problems
    assert all(problem.startswith("line 2: ") for problem in problems), problems


def test_a_field_given_twice_in_one_device_is_reported() -> None:
    text = "devices:\n  r:\n    kind: epics\n    prefix: 'A:'\n    prefix: 'B:'\n"
    assert problems_of(text) == [
        "line 5: device 'r': field 'prefix' is given twice (lines 4 and 5); give it once"
    ]


def test_toml_problems_name_the_line_of_the_device_table() -> None:
    text = (
        '[simulation]\nseed = 1\n\n[devices.robot]\nkind = "simulated"\nmodel = "robot"\n\n'
        '[devices.hp]\nkind = "epics"\nprefix = "A:"\nsettle_timeout = -1\n'
    )
    assert problems_of(text, "toml") == [
        "line 8: device 'hp' (kind 'epics'): field 'settle_timeout' = -1 is not allowed; "
        "it must be a finite number > 0"
    ]


def test_the_reactor_presets_tolerance_comes_from_the_config() -> None:
    config = parse_config_text(
        "devices:\n  r: {kind: epics, prefix: 'A:', tolerance: 0.2}\n", "yaml"
    )
    assert build_devices(config)["r"].tolerance.get() == 0.2

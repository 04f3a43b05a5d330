"""``smartlab devices check``: contacts each configured device and reports what answers."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from smartlab_kernel.cli import devices_cmd

from .conftest import IocFactory
from .instruments_peer import InstrumentsFactory, instruments_ioc  # noqa: F401


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="smartlab")
    devices_cmd.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return int(args.func(args))


def test_check_reports_a_table_and_fails_when_a_device_does_not_answer(
    reactor_ioc: IocFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reactor_ioc("CHK:REACTOR:")
    path = tmp_path / "lab.yaml"
    path.write_text(
        """
devices:
  reactor:
    kind: epics
    prefix: "CHK:REACTOR:"
  missing:
    kind: epics
    prefix: "NOBODY:HOME:"
    connection_timeout: 0.5
  robot:
    kind: simulated
    model: robot
""",
        encoding="utf-8",
    )
    assert run_cli(["devices", "check", str(path), "--timeout", "5"]) == 1
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].split() == ["DEVICE", "KIND", "ENDPOINT", "STATUS", "DETAIL"]
    reactor_line = next(line for line in lines if line.startswith("reactor"))
    assert " ok " in reactor_line
    assert (
        "CHK:REACTOR:TEMP_RBV = 25 degC (units 'degC'); limits [15, 150] degC from "
        "CHK:REACTOR:TEMP_SP"
    ) in reactor_line
    missing_line = next(line for line in lines if line.startswith("missing"))
    assert "FAILED" in missing_line and "NOBODY:HOME:TEMP_RBV" in missing_line
    assert "not answering" in missing_line
    assert next(line for line in lines if line.startswith("robot")).count(" ok ") == 1
    assert "1 of 3 device(s) did not answer: ['missing']" in err


def test_check_exits_0_when_all_answer_and_2_on_an_invalid_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.toml"
    good.write_text('[devices.robot]\nkind = "simulated"\nmodel = "robot"\n', encoding="utf-8")
    assert run_cli(["devices", "check", str(good)]) == 0
    assert "all 1 device(s) answered" in capsys.readouterr().out
    bad = tmp_path / "bad.toml"
    bad.write_text('[devices.robot]\nkind = "robotic"\n', encoding="utf-8")
    assert run_cli(["devices", "check", str(bad)]) == 2
    assert "unknown kind 'robotic'" in capsys.readouterr().err


def test_check_reports_units_and_limits_as_the_instruments_report_them(
    instruments_ioc: InstrumentsFactory,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    instruments_ioc("CHK2:")
    path = tmp_path / "lab.yaml"
    path.write_text(
        """
devices:
  hotplate:
    kind: epics
    device_class: setpoint_readback
    prefix: "CHK2:HP:"
    setpoint: "T:SP"
    readback: "T:RBV"
    tolerance: 0.1
  stage: {kind: epics, device_class: motor, prefix: "CHK2:M1"}
  plate:
    kind: epics
    device_class: pv_positioner
    prefix: "CHK2:HP:"
    setpoint: "T:SP"
    readback: "T:RBV"
    done: "T:DONE"
    limits: [280, 320]
  counter:
    kind: epics
    device_class: detector
    prefix: "CHK2:DET:"
    acquire: ACQUIRE
    reads: {counts: COUNTS}
""",
        encoding="utf-8",
    )
    assert run_cli(["devices", "check", str(path), "--timeout", "10"]) == 0
    lines = capsys.readouterr().out.splitlines()

    def row(name: str) -> str:
        return next(line for line in lines if line.startswith(name))

    assert (
        "CHK2:HP:T:RBV = 293.15 K (units 'K'); limits [273.15, 573.15] K from CHK2:HP:T:SP"
        in row("hotplate")
    )
    assert "CHK2:M1.RBV = 0 mm (units 'mm'); limits [0, 50] mm (LLM/HLM)" in row("stage")
    assert "CHK2:DET:COUNTS = 0 counts (units 'counts')" in row("counter")
    assert "CHK2:HP:T:RBV = 293.15 K (units 'K'); limits [280, 320] K (CHK2:HP:T:SP)" in row(
        "plate"
    )


def test_an_invalid_file_lists_every_problem_with_the_file_and_lines_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "lab.toml"
    bad.write_text(
        '[devices.hotplate]\nkind = "epics"\ndevice_class = "setpoint_readback"\n'
        'prefix = "LAB:HP:"\nsetpoint = "T:SP"\n\n'
        '[devices.counter]\nkind = "epics"\ndevice_class = "detector"\nprefix = "LAB:DET:"\n'
        'acquire = "ACQUIRE"\nreads = {counts = 5}\n',
        encoding="utf-8",
    )
    assert run_cli(["devices", "check", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"invalid lab configuration {bad}:\n")
    assert (
        "  - line 1: device 'hotplate' (kind 'epics', device_class 'setpoint_readback'): "
        "missing required field 'readback'" in err
    )
    assert (
        "  - line 1: device 'hotplate' (kind 'epics', device_class 'setpoint_readback'): "
        "missing required field 'tolerance'" in err
    )
    assert "  - line 7: device 'counter': reads: 'counts' = 5 must be a PV suffix" in err

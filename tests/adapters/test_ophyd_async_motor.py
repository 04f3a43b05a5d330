"""ophyd-async's own EPICS ``Motor`` against a motor record served by a caproto IOC, in a Lab.

The motor record is the instruments IOC's ``<prefix>M1`` (mm, soft limits
[0, 50] mm, 10 mm/s), whose ``.VAL`` write completes when the move ends, as a
real motor record's does: ophyd-async's ``Motor`` waits for exactly that.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import bluesky.plan_stubs as bps
import bluesky.preprocessors as bpp
import pytest

from smartlab_kernel.devices.labconfig import build_devices, load_lab_config
from smartlab_kernel.testing import require_module

from .conftest import LabWith
from .instruments_peer import InstrumentsFactory, instruments_ioc  # noqa: F401

require_module("ophyd_async", "pip install 'smartlab-kernel[ophyd-async]'")
from ophyd_async.epics.motor import Motor  # noqa: E402

from smartlab_kernel.devices.adapters.ophyd_async_devices import read_now  # noqa: E402

pytestmark = pytest.mark.timeout(120)


def stage_from_config(directory: Path, prefix: str) -> Any:
    path = directory / "lab.yaml"
    path.write_text(
        f"""
devices:
  stage:
    kind: ophyd_async
    device_class: ophyd_async.epics.motor:Motor
    prefix: "{prefix}M1"
    connection_timeout: 5
""",
        encoding="utf-8",
    )
    return build_devices(load_lab_config(path))["stage"]


def test_ophyd_async_motor_moves_a_motor_record_through_the_lab_in_its_units(
    instruments_ioc: InstrumentsFactory,  # noqa: F811
    lab_with: LabWith,
    tmp_path: Path,
) -> None:
    instruments_ioc("OM1:")
    stage = stage_from_config(tmp_path, "OM1:")
    assert isinstance(stage, Motor)
    lab = lab_with({"stage": stage})
    moved: list[tuple[float, float]] = []  # (target, seconds the move took)

    @bpp.run_decorator(md={"plan_name": "stage_scan"})
    def plan():  # type: ignore[no-untyped-def]
        for position in (5.0, 20.0, 12.5):
            started = time.monotonic()
            yield from bps.mv(stage, position)
            moved.append((position, time.monotonic() - started))
            yield from bps.trigger_and_read([stage])

    (uid,) = lab.submit(plan()).wait(60)
    lab.wait(30)
    stored = lab.catalog[uid]
    assert stored.metadata["stop"]["exit_status"] == "success"
    # each move waited for the record to get there (10 mm/s): no reading mid-move
    assert list(stored["primary"].read()["stage"].values) == pytest.approx([5.0, 20.0, 12.5])
    distances = [5.0, 15.0, 7.5]
    for (_, seconds), distance in zip(moved, distances, strict=True):
        assert seconds >= 0.9 * distance / 10.0
    key = stored["primary"].metadata["data_keys"]["stage"]
    assert key["units"] == "mm"
    assert key["source"] == "ca://OM1:M1.RBV"
    configuration = stored.metadata["start"]["devices"]["stage"]
    assert configuration["stage_motor_egu"] == "mm"
    assert configuration["stage_velocity"] == 10.0


def test_ophyd_async_motor_refuses_a_move_past_the_records_limits_and_stops_when_aborted(
    instruments_ioc: InstrumentsFactory,  # noqa: F811
    lab_with: LabWith,
    tmp_path: Path,
) -> None:
    instruments_ioc("OM2:")
    stage = stage_from_config(tmp_path, "OM2:")
    lab = lab_with({"stage": stage})
    # past the soft limits: ophyd-async's check (from LLM/HLM, DLLM/DHLM) refuses it
    run = lab.submit(bpp.run_wrapper(bps.mv(stage, 60.0), md={"plan_name": "too_far"}))
    with pytest.raises(Exception, match=r"motor limits are 0\.0mm <= x <= 50\.0mm"):
        run.wait(30)
    lab.wait(30)
    stop = lab.catalog[run.uids[0]].metadata["stop"]
    assert stop["exit_status"] == "fail" and "MotorLimitsError" in stop["reason"]
    assert read_now(stage.user_readback, "get_value") == 0.0  # never moved
    # an abort mid-move stops the record where it is (STOP), not at the target
    moving = threading.Event()
    token = lab.subscribe(lambda name, doc: name == "start" and moving.set())
    run = lab.submit(bpp.run_wrapper(bps.mv(stage, 50.0), md={"plan_name": "far"}))
    assert moving.wait(10)
    lab.unsubscribe(token)
    time.sleep(1.0)  # about 10 mm into a 5 s move
    lab.abort("operator stop")
    run.wait(30)
    lab.wait(30)
    assert lab.catalog[run.uids[0]].metadata["stop"]["exit_status"] == "abort"
    deadline = time.monotonic() + 5
    while read_now(stage.motor_done_move, "get_value") != 1:
        assert time.monotonic() < deadline, "the motor record never stopped"
        time.sleep(0.05)
    stopped_at = read_now(stage.user_readback, "get_value")
    assert 2.0 < stopped_at < 40.0
    time.sleep(0.5)
    assert read_now(stage.user_readback, "get_value") == stopped_at  # it stays stopped


def test_a_new_target_during_a_move_takes_over_as_in_a_motor_record(
    instruments_ioc: InstrumentsFactory,  # noqa: F811
    tmp_path: Path,
) -> None:
    instruments_ioc("OM3:")
    stage = stage_from_config(tmp_path, "OM3:")
    from ophyd import EpicsSignal

    val = EpicsSignal("OM3:M1.VAL", name="val")
    val.wait_for_connection(timeout=5)
    val.put(40.0, wait=False)  # 4 s at 10 mm/s
    time.sleep(0.5)
    started = time.monotonic()
    val.put(2.0, wait=True, timeout=10)  # completes when the motor is at 2 mm
    assert time.monotonic() - started < 3.0  # it turned back from about 5 mm, not from 40
    assert read_now(stage.user_readback, "get_value") == 2.0
    assert read_now(stage.motor_done_move, "get_value") == 1
    time.sleep(0.3)
    assert read_now(stage.user_readback, "get_value") == 2.0  # the first move did not resume

"""Settling on a readback: progress never runs backwards when an old reading arrives late."""

from __future__ import annotations

from ophyd import Signal

from smartlab_kernel.devices.adapters.progress_status import ProgressStatus
from smartlab_kernel.devices.adapters.readback_settle import settle_on_readback


def test_a_reading_older_than_one_reported_is_dropped() -> None:
    readback = Signal(name="reactor_temperature", value=0.0)
    readback.put(25.0, timestamp=1.0)  # cached: subscribing reports it first
    status = ProgressStatus(readback, unit="degC")
    fractions: list[float] = []
    status.watch(lambda fraction=None, **kw: fraction is not None and fractions.append(fraction))
    settle_on_readback(
        status, readback, 80.0, tolerance=0.5, timeout=10.0, doing="heating", endpoint="test"
    )
    readback.put(52.5, timestamp=3.0)  # halfway
    # the cached first reading racing the monitor: older than what was reported
    readback.put(80.0, timestamp=2.0)
    assert fractions == [1.0, 0.5] and not status.done
    readback.put(80.0, timestamp=4.0)
    status.wait(1)
    # the second 0.0 is ophyd's own report when the status finishes
    assert fractions == [1.0, 0.5, 0.0, 0.0] and status.success


def test_with_a_done_signal_both_must_be_there_and_the_timeout_counts_from_the_start() -> None:
    import time

    import pytest

    from smartlab_kernel.devices import DeviceTimeoutError

    readback = Signal(name="plate_readback", value=290.0)
    done = Signal(name="plate_done", value=1)  # stale: done from the move before
    status = ProgressStatus(readback, unit="K")
    settle_on_readback(
        status,
        readback,
        300.0,
        tolerance=0.1,
        timeout=10.0,
        doing="going to 300 K",
        endpoint="test",
        done=done,
    )
    done.put(0)  # the IOC starts moving
    readback.put(300.0)
    assert not status.done  # at the target, but the done signal says it is still moving
    done.put(1)
    status.wait(1)
    assert status.success
    # a step that began 0.9 s ago has 0.1 s of its 1 s left, and the error says 1 s
    late = ProgressStatus(readback, unit="K")
    settle_on_readback(
        late,
        readback,
        310.0,
        tolerance=0.1,
        timeout=1.0,
        doing="going to 310 K",
        endpoint="test",
        done=done,
        started=time.monotonic() - 0.9,
    )
    with pytest.raises(
        DeviceTimeoutError,
        match=r"within its timeout of 1 s; expected the readback within 0\.1 K of 310 K "
        r"\(last read 300 K\) and plate_done = 1 \(last read 1\)",
    ):
        late.wait(0.5)

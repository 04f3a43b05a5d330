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

"""Finish a status when a readback reaches its target; fail on disconnect or timeout."""

from __future__ import annotations

import math
import threading
import time
from typing import Any

from ophyd import Signal

from .failures import not_answering, timed_out
from .progress_status import ProgressStatus


def settle_on_readback(
    status: ProgressStatus,
    readback: Signal,
    target: float,
    *,
    tolerance: float,
    timeout: float,
    doing: str,
    endpoint: str,
    done: Signal | None = None,
    done_value: Any = 1,
    started: float | None = None,
) -> None:
    """Watch ``readback`` until it is within ``tolerance`` of ``target``, then finish ``status``.

    Each new readback is reported as progress. The status fails with
    :class:`~smartlab_kernel.devices.errors.DeviceDisconnectedError` if the
    readback's connection drops, and with
    :class:`~smartlab_kernel.devices.errors.DeviceTimeoutError` if the target
    is not reached within ``timeout`` seconds; both name the device and ``endpoint``,
    and the timeout says which value was expected and which was last read.

    Args:
        status: The status to finish (its ``device`` names the device in errors).
        readback: A signal that publishes value and connection (``meta``) events,
            e.g. an :class:`ophyd.EpicsSignalRO`.
        target: Value to reach.
        tolerance: Largest ``|readback - target|`` that counts as reached.
        timeout: Seconds before giving up.
        doing: What the operation is, e.g. ``"heating to 80 degC"``.
        endpoint: Where the readback comes from, e.g. ``"PV SIM:REACTOR:TEMP_RBV"``.
        done: A "done moving" signal (e.g. a ``DMOV`` or ``DONE`` PV): the status
            finishes only when it also reads ``done_value``.
        done_value: The value of ``done`` that means done.
        started: When the step began (:func:`time.monotonic`), if before now: the
            ``timeout`` counts from then.

    Raises:
        Exception: Whatever ``readback.subscribe`` raises (e.g. the control layer's
            timeout when the IOC does not answer); nothing is left watching then.
    """
    device = status.device.name
    lock = threading.Lock()
    initial: list[float] = []
    latest: list[float] = []
    newest_stamp: list[float] = []
    ended: list[bool] = []
    done_now: list[Any] = [] if done is None else [None]
    units = f" {status.unit}" if status.unit else ""

    def overdue() -> BaseException:
        last = f"last read {latest[-1]:.4g}{units}" if latest else "no readback arrived"
        expected = f"the readback within {tolerance:g}{units} of {target:g}{units} ({last})"
        if done is not None:
            expected += f" and {done.name} = {done_value!r} (last read {done_now[0]})"
        return timed_out(device, endpoint, doing, timeout, expected)

    def end(error: BaseException | None) -> None:
        with lock:
            if ended or status.done:
                return
            ended.append(True)
            timer.cancel()
            readback.clear_sub(on_value)
            readback.clear_sub(on_meta)
            if done is not None:
                done.clear_sub(on_done)
                done.clear_sub(on_meta)
            if error is None:
                status.set_finished()
            else:
                status.set_exception(error)

    def on_value(value: Any = None, timestamp: float | None = None, **kwargs: Any) -> None:
        try:
            current = float(value)
        except (TypeError, ValueError):
            return
        # subscribe's first call (the cached reading, on this thread) can race a
        # monitor update (on the control layer's thread): one at a time, and a
        # reading older than one already reported is dropped, so progress never
        # runs backwards
        with lock:
            if timestamp is not None:
                if newest_stamp and timestamp < newest_stamp[0]:
                    return
                newest_stamp[:] = [timestamp]
            if not initial:
                initial.append(current)
            latest[:] = [current]
            span = abs(initial[0] - target)
            left = abs(current - target) / span if span > 0 else 0.0
            status.report(current=current, initial=initial[0], target=target, fraction=left)
        if reached():
            end(None)

    def reached() -> bool:
        if not latest or not math.isfinite(latest[0]) or abs(latest[0] - target) > tolerance:
            return False
        return done is None or done_now[0] == done_value

    def on_done(value: Any = None, **kwargs: Any) -> None:
        with lock:
            done_now[:] = [value]
        if reached():
            end(None)

    def on_meta(connected: bool = True, **kwargs: Any) -> None:
        if not connected:
            end(not_answering(device, endpoint, doing))

    left = timeout if started is None else timeout - (time.monotonic() - started)
    timer = threading.Timer(max(0.0, left), lambda: end(overdue()))
    timer.daemon = True
    timer.start()
    try:
        readback.subscribe(on_meta, event_type=readback.SUB_META, run=False)
        if done is not None:
            done.subscribe(on_meta, event_type=done.SUB_META, run=False)
            done.subscribe(on_done, event_type=done.SUB_VALUE, run=True)
        readback.subscribe(on_value, event_type=readback.SUB_VALUE, run=True)
    except BaseException:
        timer.cancel()
        readback.clear_sub(on_value)
        readback.clear_sub(on_meta)
        if done is not None:
            done.clear_sub(on_done)
            done.clear_sub(on_meta)
        raise

"""Writes to EPICS PVs that wait for the IOC's answer (put-completion) and report refusals.

ophyd's put-completion calls its callback however the IOC answered, and
caproto's threading client drops the IOC's error answer to a write
(``ECA_PUTFAIL``) altogether, so a refused write used to look like one that
never finished. :func:`put_with_completion` hands the IOC's status to the
caller: a refusal fails at once, with the IOC's own words.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from ophyd import EpicsSignal

from .failures import timed_out

#: Called once with ``None`` (the IOC completed the write) or the error.
PutDone = Callable[[BaseException | None], None]


class PutRefusedError(RuntimeError):
    """The IOC refused a write (e.g. ``ECA_PUTFAIL``), or did not take the value written."""


def refused(device: str, pvname: str, value: Any, status: str) -> PutRefusedError:
    """The error for a write to ``pvname`` that the IOC refused with ``status``."""
    return PutRefusedError(
        f"device {device!r}: the IOC refused the write of {value!r} to {pvname}: {status}"
    )


_routed = False


def route_caproto_write_errors() -> None:
    """Make caproto's threading client hand the IOC's error answer to a write to its caller.

    An IOC that refuses a write-with-notify answers with an ``ErrorResponse``
    instead of a ``WriteNotifyResponse``; caproto's client (1.x) ignores it,
    so the write's callback never runs. This routes that answer to the
    write's callback (and to a blocking write), where its ``status`` and
    ``error_message`` say why. Idempotent.
    """
    global _routed
    if _routed:
        return
    import caproto as ca
    from caproto.threading.client import VirtualCircuitManager

    original = getattr(VirtualCircuitManager, "_process_command", None)
    if original is None:  # another caproto: refusals then end as write timeouts
        _routed = True
        return

    def process_command(self: Any, command: Any) -> Any:
        if isinstance(command, ca.ErrorResponse):
            request = command.original_request
            if request.command == ca.WriteNotifyRequest.ID:
                info = self.ioids.pop(request.parameter2, None)
                if info is not None:
                    info["response"] = command
                    event = info.get("event")
                    if event is not None:
                        event.set()
                    callback = info.get("callback")
                    if callback is not None:
                        self.user_callback_executor.submit(callback, command)
        return original(self, command)

    VirtualCircuitManager._process_command = process_command
    _routed = True


def _status_text(response: Any) -> str | None:
    """``None`` if ``response`` says the write succeeded, else the IOC's status in words."""
    status = getattr(response, "status", None)
    if status is None or getattr(status, "success", 1) == 1:
        return None
    text = str(getattr(status, "name", status))
    message = getattr(response, "error_message", b"")
    if isinstance(message, bytes | bytearray):
        message = bytes(message).rstrip(b"\0").decode("latin-1", "replace")
    return f"{text} ({message})" if message else text


def _caproto_pv(signal: EpicsSignal) -> Any:
    return getattr(getattr(signal, "_write_pv", None), "_caproto_pv", None)


def _wire_value(signal: EpicsSignal, value: Any) -> tuple[Any, ...]:
    """``value`` as caproto writes it: an enum's state name becomes its index.

    Raises:
        ValueError: If ``value`` names no state of an enum PV.
    """
    if not isinstance(value, str):
        return (value,)
    states = list(getattr(signal._write_pv, "enum_strs", None) or ())
    if states:
        if value not in states:
            raise ValueError(
                f"{value!r} is not a state of {signal.setpoint_pvname}; its states are {states}"
            )
        return (states.index(value),)
    return (value.encode("latin-1"),)


def put_with_completion(
    signal: EpicsSignal,
    value: float,
    *,
    device: str,
    endpoint: str,
    timeout: float,
    done: PutDone,
) -> None:
    """Write ``value`` to ``signal``'s write PV and call ``done`` when the IOC has answered.

    ``done(None)`` once the IOC reports the write complete; ``done(error)``
    with :class:`PutRefusedError` naming the PV, the value and the IOC's status
    if it refused the write, or with a
    :class:`~smartlab_kernel.devices.errors.DeviceTimeoutError` if it has not
    answered within ``timeout`` seconds. ``done`` is called exactly once.

    Raises:
        ValueError: If ``value`` names no state of an enum PV.
        Exception: Whatever the control layer raises when the write cannot be sent.
    """
    lock = threading.Lock()
    finished: list[bool] = []

    def finish(error: BaseException | None) -> None:
        with lock:
            if finished:
                return
            finished.append(True)
        timer.cancel()
        done(error)

    def overdue() -> None:
        doing = f"writing {value!r} to {signal.setpoint_pvname}"
        finish(timed_out(device, endpoint, doing, timeout, "the IOC to complete the write"))

    timer = threading.Timer(timeout, overdue)
    timer.daemon = True
    caproto_pv = _caproto_pv(signal)
    if caproto_pv is not None:
        route_caproto_write_errors()

        def on_response(response: Any) -> None:
            status = _status_text(response)
            pvname = signal.setpoint_pvname
            finish(None if status is None else refused(device, pvname, value, status))

        timer.start()
        try:
            caproto_pv.write(
                _wire_value(signal, value), wait=False, callback=on_response, notify=True
            )
        except BaseException:
            timer.cancel()
            raise
        return
    # other control layers (pyepics): their put-completion callback carries no status
    timer.start()
    try:
        signal.put(value, use_complete=True, callback=lambda *a, **k: finish(None), force=True)
    except BaseException:
        timer.cancel()
        raise

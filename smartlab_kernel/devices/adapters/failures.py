"""Errors for instruments that stop answering, naming the device and its endpoint."""

from __future__ import annotations

from ..errors import DeviceDisconnectedError, DeviceTimeoutError


def _quote(cause: BaseException | None) -> str:
    return f": {type(cause).__name__}: {cause}" if cause is not None else ""


def not_answering(
    device: str, endpoint: str, doing: str, cause: BaseException | None = None
) -> DeviceDisconnectedError:
    """Return the error for a device whose protocol peer does not answer.

    Args:
        device: The device's name, e.g. ``"reactor"``.
        endpoint: Where it was reached, e.g. ``"PV SIM:REACTOR:TEMP_RBV"`` or
            ``"127.0.0.1:50052"``.
        doing: What was being done, e.g. ``"reading"``.
        cause: The protocol library's own error, quoted in the message.
    """
    return DeviceDisconnectedError(
        f"device {device!r} at {endpoint} is not answering (while {doing}){_quote(cause)}; "
        "check that the instrument or its server is running and reachable, then retry"
    )


def timed_out(
    device: str,
    endpoint: str,
    doing: str,
    timeout: float,
    expected: str = "",
    cause: BaseException | None = None,
) -> DeviceTimeoutError:
    """Return the error for an operation that did not finish within its timeout.

    Args:
        device: The device's name.
        endpoint: Where it was reached.
        doing: What was being done, e.g. ``"heating to 80 degC"``.
        timeout: The timeout in seconds.
        expected: What should have happened, e.g. ``"the readback within 0.5 degC
            of 80 degC (last read 41.2 degC)"``; added as ``"; expected ..."``.
        cause: The protocol library's own error, quoted in the message.
    """
    text = (
        f"device {device!r} at {endpoint} did not finish {doing} within its timeout of "
        f"{timeout:g} s"
    )
    if expected:
        text += f"; expected {expected}"
    return DeviceTimeoutError(text + _quote(cause))

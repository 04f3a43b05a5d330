"""Drive a setpoint PV and wait for its readback: units, limits, put-completion, settling."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from ophyd import EpicsSignal, Signal
from ophyd.signal import EpicsSignalBase

from ..signals import check_number
from .epics_device import CA_FAILURES, EpicsDeviceBase, control_limits, signal_units
from .epics_put import put_with_completion, refused
from .epics_units import in_device_units, with_units
from .progress_status import ProgressStatus
from .readback_settle import settle_on_readback


@dataclass(frozen=True)
class SetpointAxis:
    """One quantity a device sets: the PV written, the PV watched and how it counts as there.

    Attributes:
        name: What it is, in messages (e.g. ``"temperature"``).
        setpoint: The signal written (its write PV); its control limits and EGU count.
        readback: The signal watched (may be ``setpoint`` itself).
        tolerance: Largest ``|readback - target|`` that counts as reached.
        done: A "done" PV that must also read ``done_value`` (``None``: no such PV).
        done_value: The value of ``done`` that means done.
        put_complete: Wait for the IOC to complete (or refuse) the write.
        limits: Limits the lab sets (intersected with the PV's control limits).
        settle_time: Seconds to wait after the readback is there.
        verb: How a change is said, e.g. ``"heating to"`` (default ``"setting <name> to"``).
    """

    name: str
    setpoint: EpicsSignal
    readback: EpicsSignalBase | Signal
    tolerance: float
    done: Signal | None = None
    done_value: Any = 1
    put_complete: bool = True
    limits: tuple[float, float] | None = None
    settle_time: float = 0.0
    verb: str = ""

    @property
    def units(self) -> str:
        """The setpoint PV's EGU, else the readback's (``""`` if neither reports any)."""
        return signal_units(self.setpoint) or signal_units(self.readback)

    def allowed(self) -> tuple[float, float]:
        """The range a target must be in: the PV's control limits and the lab's limits."""
        low, high = -float("inf"), float("inf")
        for limits in (control_limits(self.setpoint), self.limits):
            if limits is not None:
                low, high = max(low, limits[0]), min(high, limits[1])
        return low, high


def drive(
    device: EpicsDeviceBase, axis: SetpointAxis, value: Any, timeout: float
) -> ProgressStatus:
    """Move ``axis`` of ``device`` to ``value``; the status finishes when the readback is there.

    ``value`` is a number in the device's units (EGU) or a pint quantity,
    converted to them. It is checked against the setpoint PV's control limits
    (and the lab's) before anything is sent; the IOC must answer a read of the
    readback first, so a hung IOC is not left holding a setpoint the step never
    confirmed. With put-completion, a write the IOC refuses fails the status at
    once with the IOC's status, and so does one it completes without taking the
    value (a record that clamps to its drive limits).

    Args:
        device: The device (its name and PVs appear in errors).
        axis: What to drive.
        value: The target.
        timeout: Seconds the whole change may take.

    Raises:
        TypeError: If ``value`` is neither a number nor a quantity.
        ValueError: If a quantity cannot be converted to the device's units.
        LimitError: If the target is outside the limits.
        DeviceDisconnectedError: If the IOC is not connected.
        DeviceTimeoutError: If the IOC is connected but does not answer in time.
    """
    verb = axis.verb or f"setting {axis.name} to"
    device.wait_connected(f"{verb} {value}")  # the units and limits come with the connection
    units = axis.units
    what = f"{device.name} {axis.name}"
    target = in_device_units(value, units, what)
    doing = f"{verb} {with_units(target, units)}"
    low, high = axis.allowed()
    target = check_number(what, target, low, high, units)
    started = time.monotonic()
    try:
        axis.readback.get()
    except CA_FAILURES as exc:
        raise device.unreachable(axis.readback, doing, exc) from exc
    status = ProgressStatus(
        device, unit=units, settle_time=axis.settle_time, call_stop_on_failure=False
    )
    endpoint = device.endpoint(axis.readback)

    def settle(error: BaseException | None) -> None:
        if error is None and axis.put_complete:
            error = _not_taken(device, axis, target)
        if error is not None:
            status.set_exception(error)
            return
        try:
            settle_on_readback(
                status,
                axis.readback,
                target,
                tolerance=axis.tolerance,
                timeout=timeout,
                doing=doing,
                endpoint=endpoint,
                done=axis.done,
                done_value=axis.done_value,
                started=started,
            )
        except CA_FAILURES as exc:
            status.set_exception(device.unreachable(axis.readback, doing, exc))

    try:
        if axis.put_complete:
            write_endpoint = device.endpoint(axis.setpoint)
            put_with_completion(
                axis.setpoint,
                target,
                device=device.name,
                endpoint=write_endpoint,
                timeout=timeout,
                done=settle,
            )
        else:
            axis.setpoint.put(target, force=True)
    except CA_FAILURES as exc:
        raise device.unreachable(axis.setpoint, doing, exc) from exc
    if not axis.put_complete:
        settle(None)
    return status


def _not_taken(device: EpicsDeviceBase, axis: SetpointAxis, target: float) -> Exception | None:
    """An error if the setpoint PV, read after a completed write, does not hold ``target``."""
    try:
        held = float(axis.setpoint.get(use_monitor=False))
    except CA_FAILURES as exc:
        return device.unreachable(axis.setpoint, f"confirming the write of {target:g}", exc)
    except (TypeError, ValueError):
        return None
    if abs(held - target) <= max(axis.tolerance, 1e-9 * max(1.0, abs(target))):
        return None
    units = axis.units
    status = (
        f"it completed the write but holds {with_units(held, units)} "
        "(a record that clamps to its drive limits?)"
    )
    return refused(device.name, axis.setpoint.setpoint_pvname, target, status)

"""A generic EPICS positioner: a setpoint PV, a readback PV and, optionally, a done PV."""

from __future__ import annotations

from typing import Any

from ophyd import Component as Cpt
from ophyd import EpicsSignal, EpicsSignalRO, Signal

from .epics_device import EpicsDeviceBase
from .epics_drive import SetpointAxis, drive
from .progress_status import ProgressStatus


class EpicsSetpointReadbackBase(EpicsDeviceBase):
    """Any instrument set through a setpoint PV and watched through a readback PV.

    ``bps.mv(device, 300)`` checks 300 against the setpoint PV's control limits
    (and ``limits``, if the lab sets narrower ones), writes it with
    put-completion (a write the IOC refuses fails the step at once, with the
    IOC's status), and finishes when the readback is within ``tolerance`` (and
    the done PV, if any, reads ``done_value``), then waits ``settle_time``.
    Values are in the IOC's units (the setpoint PV's EGU); a pint quantity is
    converted to them. Build a class with :func:`setpoint_readback_class`.

    Args:
        prefix: PV prefix.
        tolerance: Largest ``|readback - target|`` that counts as reached.
        settle_timeout: Seconds a change may take before it fails.
        settle_time: Seconds to wait once the readback is there.
        put_complete: Wait for the IOC to complete (or refuse) each write.
        limits: ``(low, high)`` the lab allows, within the PV's own limits.
        done_value: The done PV's value that means done.
        **kwargs: Passed to :class:`ophyd.Device` (``name`` is required).
    """

    tolerance = Cpt(Signal, value=0.0, kind="config")

    def __init__(
        self,
        prefix: str = "",
        *,
        tolerance: float = 0.0,
        settle_timeout: float = 600.0,
        settle_time: float = 0.0,
        put_complete: bool = True,
        limits: tuple[float, float] | None = None,
        done_value: Any = 1,
        **kwargs: Any,
    ) -> None:
        super().__init__(prefix, **kwargs)
        self.tolerance.put(float(tolerance))
        self.settle_timeout = float(settle_timeout)
        self.settle_time = float(settle_time)
        self.put_complete = bool(put_complete)
        self.lab_limits = limits
        self.done_value = done_value

    @property
    def primary_readback(self) -> Signal:
        """The readback PV."""
        readback: Signal = self.readback
        return readback

    @property
    def primary_setpoint(self) -> EpicsSignal:
        """The setpoint PV."""
        setpoint: EpicsSignal = self.setpoint
        return setpoint

    @property
    def limits(self) -> tuple[float, float]:
        """The range a target must be in: the setpoint PV's control limits and the lab's."""
        return self.axis().allowed()

    def axis(self) -> SetpointAxis:
        """What :meth:`set` drives, with the device's settings."""
        return SetpointAxis(
            "setpoint",
            self.setpoint,
            self.readback,
            tolerance=float(self.tolerance.get()),
            done=getattr(self, "done", None),
            done_value=self.done_value,
            put_complete=self.put_complete,
            limits=self.lab_limits,
            settle_time=self.settle_time,
            verb="going to",
        )

    def set(self, value: Any) -> ProgressStatus:
        """Go to ``value`` (in the device's units, or a pint quantity); see the class.

        Raises:
            TypeError: If ``value`` is not a number or a quantity.
            ValueError: If a quantity cannot be converted to the device's units.
            LimitError: If it is outside the limits.
            DeviceDisconnectedError: If the IOC is not connected.
            DeviceTimeoutError: If the IOC is connected but does not answer in time.
        """
        return drive(self, self.axis(), value, self.settle_timeout)


def setpoint_readback_class(
    setpoint: str,
    readback: str,
    *,
    done: str | None = None,
    connection_timeout: float = 1.0,
    read_timeout: float = 2.0,
) -> type[EpicsSetpointReadbackBase]:
    """Build a setpoint/readback device class for PV suffixes (appended to the prefix).

    Its components are ``readback`` (hinted), ``setpoint`` (normal) and, if
    ``done`` is given, ``done`` (omitted from readings; the move waits for it).

    Args:
        setpoint: Suffix of the setpoint PV, e.g. ``"T:SP"``.
        readback: Suffix of the readback PV, e.g. ``"T:RBV"``.
        done: Suffix of a done PV, or ``None``.
        connection_timeout: Seconds to wait for a PV to connect.
        read_timeout: Seconds to wait for a PV to answer a read.

    Raises:
        ValueError: If a suffix is empty.
    """
    for what, suffix in (("setpoint", setpoint), ("readback", readback), ("done", done)):
        if suffix is not None and (not isinstance(suffix, str) or not suffix):
            raise ValueError(f"{what} PV must be a non-empty string, got {suffix!r}")
    timeouts = {"connection_timeout": connection_timeout, "timeout": read_timeout}
    components: dict[str, Any] = {
        "readback": Cpt(EpicsSignalRO, readback, kind="hinted", **timeouts),
        "setpoint": Cpt(EpicsSignal, setpoint, kind="normal", **timeouts),
    }
    if done is not None:
        components["done"] = Cpt(EpicsSignalRO, done, kind="omitted", **timeouts)
    return type("EpicsSetpointReadback", (EpicsSetpointReadbackBase,), components)

"""What every EPICS device of the lab shares: clear errors naming the PV, units and limits."""

from __future__ import annotations

from typing import Any

from ophyd import Device, EpicsSignal, Signal
from ophyd.utils import DisconnectedError

from .epics_layer import ensure_control_layer, search_description
from .epics_units import with_units
from .failures import not_answering, timed_out

#: Errors the control layer raises when a PV does not answer.
CA_FAILURES = (TimeoutError, DisconnectedError, OSError)


def signal_units(signal: Signal) -> str:
    """The engineering units (EGU) a signal's PV reports, ``""`` if none."""
    metadata = getattr(signal, "metadata", None) or {}
    return str(metadata.get("units") or "")


def control_limits(signal: EpicsSignal) -> tuple[float, float] | None:
    """The control limits of ``signal``'s PV (for an ``ao`` record, DRVL/DRVH), or ``None``.

    ophyd takes the limits of a signal from its *read* PV; here they come
    from the signal's own metadata, read from the PV at connection. ``None``
    when the IOC sets none (low >= high, as EPICS means "no limits").
    """
    metadata = getattr(signal, "metadata", None) or {}
    low, high = metadata.get("lower_ctrl_limit"), metadata.get("upper_ctrl_limit")
    if low is None or high is None or float(low) >= float(high):
        return None
    return float(low), float(high)


class EpicsDeviceBase(Device):
    """An ophyd device on EPICS PVs whose failures name the device and the PV.

    Subclasses say which signal is their main readback
    (:attr:`primary_readback`) and, if they can be set, their setpoint
    (:attr:`primary_setpoint`).

    Args:
        prefix: PV prefix.
        **kwargs: Passed to :class:`ophyd.Device` (``name`` is required).
    """

    def __init__(self, prefix: str = "", **kwargs: Any) -> None:
        ensure_control_layer()
        super().__init__(prefix, **kwargs)

    @property
    def primary_readback(self) -> Signal:
        """The signal that says where the device is (its hinted reading)."""
        raise NotImplementedError

    @property
    def primary_setpoint(self) -> EpicsSignal | None:
        """The signal written to move the device, or ``None`` for read-only devices."""
        return None

    def endpoint(self, signal: Signal | None = None) -> str:
        """Say where a signal (default: the primary readback) is served."""
        signal = signal if signal is not None else self.primary_readback
        pv = getattr(signal, "pvname", signal.name)
        return f"EPICS PV {pv} ({search_description()})"

    def unreachable(self, signal: Signal, doing: str, exc: BaseException) -> Exception:
        """The error for a failed Channel Access request to ``signal``'s PV.

        A request to a PV that is still connected but gets no answer in time (the
        IOC hangs) is a :class:`~smartlab_kernel.devices.errors.DeviceTimeoutError`;
        anything else (the IOC is gone) a
        :class:`~smartlab_kernel.devices.errors.DeviceDisconnectedError`.
        """
        endpoint = self.endpoint(signal)
        if isinstance(exc, TimeoutError) and getattr(signal, "connected", False):
            timeout = float(getattr(signal, "timeout", None) or 0.0)
            expected = "the IOC to answer (the PV is connected, but its IOC does not reply)"
            return timed_out(self.name, endpoint, doing, timeout, expected, exc)
        return not_answering(self.name, endpoint, doing, exc)

    def wait_connected(self, doing: str, timeout: float | None = None) -> None:
        """Give PVs that are still connecting their connection timeout, then fail clearly."""
        if timeout is None:
            timeout = float(getattr(self.primary_readback, "connection_timeout", 1.0))
        try:
            self.wait_for_connection(timeout=timeout)
        except CA_FAILURES as exc:
            raise not_answering(self.name, self.endpoint(), doing, exc) from exc

    def read(self) -> dict[str, dict[str, Any]]:
        """Read the device; raise a clear error naming the PV if the IOC does not answer."""
        self.wait_connected("reading")
        try:
            return dict(super().read())
        except CA_FAILURES as exc:
            raise self.unreachable(self.primary_readback, "reading", exc) from exc

    def describe(self) -> dict[str, dict[str, Any]]:
        """Describe the readings (with their units); name the PV if the IOC does not answer."""
        self.wait_connected("describing its readings")
        try:
            return dict(super().describe())
        except CA_FAILURES as exc:
            raise self.unreachable(self.primary_readback, "describing its readings", exc) from exc

    def read_configuration(self) -> dict[str, dict[str, Any]]:
        """Read the configuration; raise a clear error naming the PV if the IOC does not answer."""
        self.wait_connected("reading its configuration")
        try:
            return dict(super().read_configuration())
        except CA_FAILURES as exc:
            doing = "reading its configuration"
            raise self.unreachable(self.primary_readback, doing, exc) from exc

    @property
    def egu(self) -> str:
        """The device's engineering units: its setpoint PV's EGU, else its readback's."""
        setpoint = self.primary_setpoint
        units = signal_units(setpoint) if setpoint is not None else ""
        return units or signal_units(self.primary_readback)

    def check_connection(self, timeout: float = 2.0) -> str:
        """Connect to every PV; return the readback, its units and the setpoint's limits.

        Raises:
            DeviceDisconnectedError: If a PV does not connect within ``timeout`` s.
            DeviceTimeoutError: If the IOC is connected but does not answer a read.
        """
        self.wait_connected("connecting", timeout)
        readback = self.primary_readback
        try:
            value = readback.get()
        except CA_FAILURES as exc:
            raise self.unreachable(readback, "connecting", exc) from exc
        units = self.egu
        shown = with_units(float(value), units) if _is_number(value) else repr(value)
        text = f"{getattr(readback, 'pvname', readback.name)} = {shown}"
        text += f" (units {units!r})" if units else " (the IOC reports no units)"
        setpoint = self.primary_setpoint
        if setpoint is not None:
            limits = control_limits(setpoint)
            text += (
                f"; limits [{limits[0]:g}, {limits[1]:g}] {units}".rstrip()
                if limits is not None
                else "; no control limits"
            ) + f" from {setpoint.setpoint_pvname}"
        return text


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True

"""ophyd's :class:`~ophyd.PVPositioner` (setpoint + done PV) with units, limits and refusals."""

from __future__ import annotations

import threading
from typing import Any

from ophyd import Component as Cpt
from ophyd import EpicsSignal, EpicsSignalRO, PVPositioner
from ophyd.status import MoveStatus

from ..signals import check_number
from .epics_device import CA_FAILURES, control_limits, signal_units
from .epics_layer import ensure_control_layer, search_description
from .epics_put import put_with_completion
from .epics_units import in_device_units, with_units
from .failures import not_answering


class LabPVPositionerBase(PVPositioner):
    """A :class:`ophyd.PVPositioner`: write the setpoint, wait for the done PV.

    Everything ophyd users expect stays (``done``, ``done_value``,
    ``position``, ``egu``, ``limits``, ``stop()``). In addition: ``egu`` is
    the setpoint PV's EGU; a move accepts a pint quantity, converted to it; a
    target outside the setpoint PV's control limits (and the lab's
    ``lab_limits``) is refused before anything is sent; the setpoint write
    waits for the IOC's answer, so a write the IOC refuses fails the move at
    once with the IOC's status; a move longer than ``settle_timeout`` fails.
    Build a class with :func:`pv_positioner_class`.

    Args:
        prefix: PV prefix.
        settle_timeout: Seconds a move may take.
        settle_time: Seconds to wait once done.
        lab_limits: ``(low, high)`` the lab allows, within the PV's own limits.
        **kwargs: Passed to :class:`ophyd.PVPositioner` (``name`` is required).
    """

    def __init__(
        self,
        prefix: str = "",
        *,
        settle_timeout: float = 600.0,
        settle_time: float = 0.0,
        lab_limits: tuple[float, float] | None = None,
        **kwargs: Any,
    ) -> None:
        ensure_control_layer()
        super().__init__(prefix, settle_time=settle_time, timeout=settle_timeout, **kwargs)
        self.settle_timeout = float(settle_timeout)
        self.lab_limits = lab_limits

    @property
    def egu(self) -> str:
        """The setpoint PV's engineering units (EGU)."""
        return signal_units(self.setpoint)

    @property
    def limits(self) -> tuple[float, float]:
        """The setpoint PV's control limits, within the lab's (``(0, 0)``: none)."""
        low, high = -float("inf"), float("inf")
        for limits in (control_limits(self.setpoint), self.lab_limits):
            if limits is not None:
                low, high = max(low, limits[0]), min(high, limits[1])
        return (low, high) if low < high else (0.0, 0.0)

    def set(self, new_position: Any, *, timeout: float | None = None, **kwargs: Any) -> MoveStatus:
        """Move to ``new_position`` (in the setpoint PV's units, or a pint quantity).

        Raises:
            TypeError: If it is not a number or a quantity.
            ValueError: If a quantity cannot be converted to the device's units.
            LimitError: If it is outside the limits.
            PutRefusedError: If the IOC refuses the setpoint write.
            DeviceDisconnectedError: If the IOC does not connect.
        """
        try:  # the units and limits come with the connection
            self.wait_for_connection(timeout=float(self.setpoint.connection_timeout or 1.0))
        except CA_FAILURES as exc:
            endpoint = f"EPICS PV {self.setpoint.pvname} ({search_description()})"
            raise not_answering(self.name, endpoint, f"moving to {new_position}", exc) from exc
        units = self.egu
        what = f"{self.name} setpoint"
        target = in_device_units(new_position, units, what)
        low, high = self.limits
        if low == high:
            low, high = -float("inf"), float("inf")
        target = check_number(what, target, low, high, units)
        timeout = self.settle_timeout if timeout is None else timeout
        status: MoveStatus = super().set(target, timeout=timeout, **kwargs)
        return status

    def check_connection(self, timeout: float = 2.0) -> str:
        """Connect; return the position, its units and the limits.

        Raises:
            DeviceDisconnectedError: If a PV does not connect within ``timeout`` s.
        """
        watched = self.readback if self.readback is not None else self.setpoint
        endpoint = f"EPICS PV {watched.pvname} ({search_description()})"
        try:
            self.wait_for_connection(timeout=timeout)
            position = float(watched.get())
        except CA_FAILURES as exc:
            raise not_answering(self.name, endpoint, "connecting", exc) from exc
        units = self.egu
        text = f"{watched.pvname} = {with_units(position, units)}"
        text += f" (units {units!r})" if units else " (the IOC reports no units)"
        low, high = self.limits
        if low == high:
            return text + f"; no limits on {self.setpoint.pvname}"
        return (
            text + f"; limits [{low:g}, {high:g}] {units}".rstrip() + f" ({self.setpoint.pvname})"
        )

    def check_value(self, pos: Any) -> None:
        """Limits are checked in :meth:`set`, with the units in the error."""

    def _setup_move(self, position: float) -> None:
        """Write the setpoint and wait for the IOC's answer; raise if it refuses."""
        answered = threading.Event()
        outcome: list[BaseException | None] = []

        def done(error: BaseException | None) -> None:
            outcome.append(error)
            answered.set()

        endpoint = f"EPICS PV {self.setpoint.pvname} ({search_description()})"
        timeout = float(self.setpoint.timeout or 2.0)
        try:
            put_with_completion(
                self.setpoint,
                position,
                device=self.name,
                endpoint=endpoint,
                timeout=timeout,
                done=done,
            )
        except CA_FAILURES as exc:
            raise not_answering(self.name, endpoint, f"moving to {position:g}", exc) from exc
        answered.wait(timeout + 1.0)
        if outcome and outcome[0] is not None:
            raise outcome[0]


def pv_positioner_class(
    setpoint: str,
    done: str,
    *,
    readback: str | None = None,
    stop: str | None = None,
    done_value: Any = 1,
    stop_value: Any = 1,
    connection_timeout: float = 1.0,
    read_timeout: float = 2.0,
) -> type[LabPVPositionerBase]:
    """Build a PVPositioner class for PV suffixes (appended to the prefix).

    Args:
        setpoint: Suffix of the setpoint PV.
        done: Suffix of the done PV (the move is over when it goes back to ``done_value``).
        readback: Suffix of a readback PV (hinted), or ``None``.
        stop: Suffix of a stop PV, or ``None``.
        done_value: The done PV's value that means done.
        stop_value: The value written to the stop PV.
        connection_timeout: Seconds to wait for a PV to connect.
        read_timeout: Seconds to wait for a PV to answer a read (and a write).
    """
    timeouts = {"connection_timeout": connection_timeout, "timeout": read_timeout}
    components: dict[str, Any] = {
        "setpoint": Cpt(EpicsSignal, setpoint, kind="normal", **timeouts),
        "done": Cpt(EpicsSignalRO, done, kind="omitted", **timeouts),
        "done_value": done_value,
        "stop_value": stop_value,
    }
    if readback is not None:
        components["readback"] = Cpt(EpicsSignalRO, readback, kind="hinted", **timeouts)
    if stop is not None:
        components["stop_signal"] = Cpt(EpicsSignal, stop, kind="omitted", **timeouts)
    return type("EpicsPVPositioner", (LabPVPositionerBase,), components)

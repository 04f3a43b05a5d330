"""The EPICS motor record through ophyd's own :class:`ophyd.EpicsMotor`, with units and limits."""

from __future__ import annotations

from typing import Any

from ophyd import EpicsMotor
from ophyd.status import MoveStatus

from ..signals import check_number
from .epics_device import CA_FAILURES, control_limits
from .epics_layer import ensure_control_layer, search_description
from .epics_units import in_device_units, with_units
from .failures import not_answering


class LabEpicsMotor(EpicsMotor):
    """ophyd's :class:`~ophyd.EpicsMotor` (``.VAL``, ``.RBV``, ``.DMOV``, ``.EGU``, ...), for a lab.

    Everything ophyd users expect stays (``motor.position``, ``motor.egu``,
    ``motor.limits``, ``motor.user_readback``, ...). In addition a move
    accepts a pint quantity, converted to the record's ``EGU``; a target
    outside the record's soft limits (``LLM``/``HLM``, else the control
    limits of ``.VAL``) is refused before anything is sent, with the units
    in the error; and a move that takes longer than ``settle_timeout`` fails.

    Args:
        prefix: The motor record's name, e.g. ``"LAB:M1"``.
        settle_timeout: Seconds a move may take before it fails.
        **kwargs: Passed to :class:`ophyd.EpicsMotor` (``name`` is required).
    """

    def __init__(self, prefix: str = "", *, settle_timeout: float = 600.0, **kwargs: Any) -> None:
        ensure_control_layer()
        super().__init__(prefix, **kwargs)
        self.settle_timeout = float(settle_timeout)

    def soft_limits(self) -> tuple[float, float] | None:
        """The record's ``LLM``/``HLM`` if ``HLM > LLM``, else ``.VAL``'s control limits."""
        low, high = float(self.low_limit_travel.get()), float(self.high_limit_travel.get())
        if high > low:
            return low, high
        return control_limits(self.user_setpoint)

    def set(self, new_position: Any, *, timeout: float | None = None, **kwargs: Any) -> MoveStatus:
        """Move to ``new_position`` (in the record's EGU, or a pint quantity).

        Raises:
            TypeError: If it is not a number or a quantity.
            ValueError: If a quantity cannot be converted to the record's units.
            LimitError: If it is outside the soft limits.
            DeviceDisconnectedError: If the record does not connect.
        """
        endpoint = f"EPICS motor record {self.prefix} ({search_description()})"
        try:  # the units and limits come with the connection
            self.wait_for_connection(timeout=float(self.user_setpoint.connection_timeout or 1.0))
            units = str(self.egu or "")
        except CA_FAILURES as exc:
            raise not_answering(self.name, endpoint, f"moving to {new_position}", exc) from exc
        what = f"{self.name} position"
        target = in_device_units(new_position, units, what)
        limits = self.soft_limits() or (-float("inf"), float("inf"))
        target = check_number(what, target, limits[0], limits[1], units)
        timeout = self.settle_timeout if timeout is None else timeout
        status: MoveStatus = super().set(target, timeout=timeout, **kwargs)
        return status

    def describe(self) -> dict[str, dict[str, Any]]:
        """Describe the readings; a position without units gets the record's ``EGU``."""
        described = dict(super().describe())
        units = str(self.egu or "")
        for key in (self.user_readback.name, self.user_setpoint.name):
            if key in described and units and not described[key].get("units"):
                described[key] = {**described[key], "units": units}
        return described

    def check_connection(self, timeout: float = 2.0) -> str:
        """Connect; return the position, its units and the soft limits.

        Raises:
            DeviceDisconnectedError: If the record does not answer within ``timeout`` s.
        """
        endpoint = f"EPICS motor record {self.prefix} ({search_description()})"
        try:
            self.wait_for_connection(timeout=timeout)
            position = float(self.user_readback.get())
            units = str(self.egu or "")
            limits = self.soft_limits()
        except CA_FAILURES as exc:
            raise not_answering(self.name, endpoint, "connecting", exc) from exc
        text = f"{self.user_readback.pvname} = {with_units(position, units)}"
        text += f" (units {units!r})" if units else " (the IOC reports no units)"
        if limits is None:
            return text + "; no soft limits"
        return text + f"; limits [{limits[0]:g}, {limits[1]:g}] {units}".rstrip() + " (LLM/HLM)"

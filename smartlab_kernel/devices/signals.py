"""Signals for simulated devices: setpoints with limits and computed readbacks."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from ophyd import Signal

from .errors import LimitError


def check_number(name: str, value: Any, low: float, high: float, units: str) -> float:
    """Return ``value`` as a float if it is a finite number within ``[low, high]``.

    Args:
        name: What the value is, for the error message (e.g. ``"reactor temperature"``).
        value: The value given by the user.
        low: Smallest allowed value (inclusive).
        high: Largest allowed value (inclusive).
        units: Units shown in the error message.

    Raises:
        TypeError: If ``value`` is not a real number.
        LimitError: If ``value`` is NaN, infinite or outside ``[low, high]``.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        try:
            import numpy as np

            if isinstance(value, np.integer | np.floating):
                value = float(value)
            else:
                raise TypeError
        except TypeError:
            raise TypeError(
                f"{name} must be a number in {units}, got {value!r} of type {type(value).__name__}"
            ) from None
    value = float(value)
    if not math.isfinite(value) or not low <= value <= high:
        raise LimitError(
            f"{name} {value!r} {units} is outside the allowed range [{low:g}, {high:g}] {units}"
        )
    return value


class LimitedSignal(Signal):
    """A setpoint signal that knows its limits and units and reports them in ``describe()``.

    Args:
        limits: ``(low, high)`` allowed values, inclusive.
        units: Engineering units, e.g. ``"degC"``.
        **kwargs: Passed to :class:`ophyd.Signal`.
    """

    def __init__(
        self, *, limits: tuple[float, float] = (0.0, 0.0), units: str = "", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self._limits = (float(limits[0]), float(limits[1]))
        self.units = units

    @property
    def limits(self) -> tuple[float, float]:
        """The allowed ``(low, high)`` range, inclusive."""
        return self._limits

    def check_value(self, value: Any) -> None:
        """Raise a clear error if ``value`` is not allowed for this signal."""
        self.coerce(value)

    def coerce(self, value: Any, what: str | None = None) -> float:
        """Return ``value`` as a float within the limits, or raise a clear error.

        Args:
            value: The value given.
            what: What the value is, for the message (default: the signal's name).
        """
        low, high = self._limits
        return check_number(what or self.name, value, low, high, self.units)

    def describe(self) -> dict[str, dict[str, Any]]:
        """Describe the signal, adding units and limits for Bluesky."""
        desc = super().describe()
        desc[self.name]["units"] = self.units
        desc[self.name]["limits"] = {"control": {"low": self._limits[0], "high": self._limits[1]}}
        return desc


class ComputedSignal(Signal):
    """A read-only signal whose value is computed by its parent device on every read.

    Simulated physics (a temperature that relaxes towards its setpoint, a
    reservoir that empties) is a function of the simulated clock, so the value
    is worked out when asked for rather than pushed by a background thread.

    Args:
        compute: Name of a zero-argument method of the parent device that
            returns the current value.
        units: Engineering units for ``describe()``.
        **kwargs: Passed to :class:`ophyd.Signal`.
    """

    def __init__(self, *, compute: str, units: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._compute_name = compute
        self.units = units
        self._metadata.update(write_access=False)

    def _compute(self) -> Callable[[], Any]:
        return getattr(self.parent, self._compute_name)

    def get(self, **kwargs: Any) -> Any:
        """Return the value computed now by the parent device."""
        value = self._compute()()
        self._readback = value
        self._metadata["timestamp"] = time.time()
        return value

    def put(self, value: Any, **kwargs: Any) -> None:
        """Refuse writes: this signal is a readback."""
        raise PermissionError(
            f"{self.name} is a readback and cannot be written; set the device's setpoint instead"
        )

    def describe(self) -> dict[str, dict[str, Any]]:
        """Describe the signal, adding units for Bluesky."""
        desc = super().describe()
        if self.units:
            desc[self.name]["units"] = self.units
        return desc

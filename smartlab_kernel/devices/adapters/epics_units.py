"""Engineering units of EPICS PVs (their ``EGU`` field), and pint quantities converted to them.

A plain number given to an EPICS device is in the device's own units, the
``EGU`` its IOC reports. A :mod:`pint` quantity, from any registry, is
converted to those units first, so ``bps.mv(hotplate, Q_(27, "degC"))`` on a
hotplate whose PVs are in kelvin writes 300.15.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import pint


@functools.cache
def unit_registry() -> pint.UnitRegistry:
    """The registry EGU strings are read with (made on first use: it takes a while to build).

    Quantities from other registries are re-created in it.
    """
    return pint.UnitRegistry()


#: EGU spellings common in EPICS databases that pint reads otherwise (``C`` is coulomb there).
EGU_ALIASES: dict[str, str] = {
    "C": "degC",
    "°C": "degC",
    "deg C": "degC",
    "Celsius": "degC",
    "F": "degF",
    "°F": "degF",
    "deg F": "degF",
    "Kelvin": "K",
    "RPM": "rpm",
    "sec": "s",
    "secs": "s",
}


def is_quantity(value: Any) -> bool:
    """True if ``value`` is a pint quantity (of any registry)."""
    return isinstance(value, pint.Quantity) or (
        hasattr(value, "magnitude") and hasattr(value, "units") and hasattr(value, "to")
    )


def pint_unit(egu: str) -> pint.Unit:
    """Read an EGU string as a pint unit.

    Raises:
        ValueError: If pint does not know the units.
    """
    text = EGU_ALIASES.get(egu.strip(), egu.strip())
    try:
        return unit_registry().Unit(text)
    except (pint.PintError, ValueError, TypeError, AttributeError) as exc:
        raise ValueError(f"pint does not know the units {egu!r}: {exc}") from None


def in_device_units(value: Any, egu: str, what: str) -> float:
    """Return ``value`` as a number in the device's units ``egu``.

    Args:
        value: A plain number (taken to be in ``egu`` already) or a pint quantity.
        egu: The device's engineering units, as its IOC reports them (may be ``""``).
        what: What the value is for, in errors, e.g. ``"hotplate setpoint"``.

    Raises:
        TypeError: If ``value`` is neither a real number nor a quantity.
        ValueError: If a quantity cannot be converted to ``egu`` (no units known,
            or another dimension, e.g. mm given to a device in K).
    """
    if is_quantity(value):
        given = f"{value.magnitude:g} {value.units:~}"
        if not egu.strip():
            raise ValueError(
                f"{what}: cannot convert {given} because the IOC reports no units (EGU) for it; "
                "give a plain number in the device's own units"
            )
        try:
            quantity = unit_registry().Quantity(float(value.magnitude), str(value.units))
            converted = float(quantity.to(pint_unit(egu)).magnitude)
        except (pint.PintError, ValueError, TypeError) as exc:
            raise ValueError(
                f"{what}: cannot convert {given} to the device's units {egu!r}: {exc}"
            ) from None
        return converted
    if isinstance(value, bool) or not _is_real(value):
        allowed = f"a number in {egu}" if egu else "a number"
        raise TypeError(
            f"{what} must be {allowed} or a pint quantity, got {value!r} of type "
            f"{type(value).__name__}"
        )
    return float(value)


def _is_real(value: Any) -> bool:
    try:
        import numpy as np

        if isinstance(value, np.integer | np.floating):
            return True
    except ImportError:  # pragma: no cover - numpy comes with ophyd
        pass
    return isinstance(value, int | float)


def with_units(value: float, egu: str) -> str:
    """Format a value with its units: ``with_units(300.15, "K") == "300.15 K"``."""
    text = f"{value:g}" if math.isfinite(value) else str(value)
    return f"{text} {egu}" if egu else text

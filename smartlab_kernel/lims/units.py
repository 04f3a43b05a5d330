"""Quantities with units for the inventory, via pint.

One :class:`pint.UnitRegistry` is shared by the LIMS. Besides SI and common
lab units it knows counted consumables: ``item`` (aliases ``pcs``, ``piece``,
``each``) and the names ``vial``, ``tip``, ``plate``, ``cap``, ``cuvette``,
``tube`` and ``well``, all one ``item``, so ``"3 vial"`` is a quantity.
"""

from __future__ import annotations

from typing import Any

import pint

from .errors import IncompatibleUnitsError, QuantityError

#: The unit registry every LIMS quantity belongs to.
ureg: pint.UnitRegistry = pint.UnitRegistry()
ureg.define("item = [item_count] = pcs = piece = each")
for _name in ("vial", "tip", "plate", "cap", "cuvette", "tube", "well"):
    ureg.define(f"{_name} = item")

#: A quantity of the LIMS registry.
Quantity = Any  # pint's Quantity is generic in ways mypy cannot follow

#: Relative tolerance when comparing stock with a request (float round-off).
RELATIVE_TOLERANCE = 1e-9


def parse_quantity(value: str | Any) -> Quantity:
    """Return ``value`` as a quantity of :data:`ureg`.

    Args:
        value: Text such as ``"25 mL"`` or ``"3 vial"``, or a pint quantity
            (from any registry; it is re-created in :data:`ureg`).

    Returns:
        The quantity.

    Raises:
        QuantityError: The text is not a number with known units.
    """
    if isinstance(value, pint.Quantity) and not isinstance(value, str):
        return ureg.Quantity(value.magnitude, str(value.units))
    if not isinstance(value, str):
        raise QuantityError(
            f"expected a quantity such as '25 mL' or '3 vial', got {value!r} "
            f"({type(value).__name__})"
        )
    try:
        quantity: Quantity = ureg.Quantity(value)
    except (pint.PintError, ValueError, TypeError, AttributeError) as exc:
        raise QuantityError(
            f"cannot read {value!r} as a quantity such as '25 mL' or '3 vial': {exc}"
        ) from None
    if not isinstance(quantity, ureg.Quantity) or quantity.unitless:
        raise QuantityError(f"{value!r} is a bare number; give units, e.g. '{value} mL'")
    return quantity


def to_units(item: str, value: str | Any, units: str) -> float:
    """Return the magnitude of ``value`` expressed in ``units``.

    Args:
        item: Name of the inventory item, for the error message.
        value: A quantity or its text.
        units: The item's units, e.g. ``"milliliter"``.

    Returns:
        The magnitude in ``units``.

    Raises:
        IncompatibleUnitsError: The dimensions differ (``"2 g"`` for an item
            kept in mL).
        QuantityError: ``value`` cannot be parsed.
    """
    quantity = parse_quantity(value)
    try:
        return float(quantity.to(units).magnitude)
    except pint.DimensionalityError:
        raise IncompatibleUnitsError(item, units, format_quantity(quantity)) from None


def format_quantity(value: Quantity | float, units: str | None = None) -> str:
    """Return a quantity as short text, e.g. ``"24.5 ml"``.

    Args:
        value: A quantity, or a magnitude when ``units`` is given.
        units: Units of a bare magnitude.

    Returns:
        The magnitude with six significant digits and abbreviated units.
    """
    quantity: Quantity = ureg.Quantity(value, units) if units is not None else value
    return f"{quantity.magnitude:.6g} {quantity.units:~P}".strip()


def canonical_units(quantity: Quantity) -> str:
    """Return the units of ``quantity`` in the text form stored in the database."""
    return str(quantity.units)

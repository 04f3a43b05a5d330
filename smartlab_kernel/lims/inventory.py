"""Stock checks: is there enough of everything a recipe needs?

Pure functions over :class:`InventoryItem` snapshots, used by the store's
``available`` / ``feasible`` and by transactions before a decrement.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from .records import InventoryItem
from .units import RELATIVE_TOLERANCE, format_quantity, to_units

K = TypeVar("K", bound=Hashable)

#: What a recipe needs: item name -> quantity (text such as ``"2 mL"`` or pint).
Requirements = Mapping[str, Any]


@dataclass(frozen=True)
class Shortfall:
    """One item a request cannot be served from.

    Attributes:
        item: The item name.
        requested: The quantity asked for, as text.
        available: What is in stock, as text (``"none"`` for an unknown item).
    """

    item: str
    requested: str
    available: str

    def __str__(self) -> str:
        return f"{self.item}: requested {self.requested}, available {self.available}"


def enough(item: InventoryItem, requested_amount: float) -> bool:
    """Return whether ``requested_amount`` (in the item's units) is in stock."""
    slack = RELATIVE_TOLERANCE * max(abs(item.amount), abs(requested_amount))
    return requested_amount <= item.amount + slack


def shortfalls(items: Mapping[str, InventoryItem], requirements: Requirements) -> list[Shortfall]:
    """Return what is missing to serve ``requirements`` from ``items``.

    Args:
        items: The inventory, by name.
        requirements: Item name -> quantity needed.

    Returns:
        One :class:`Shortfall` per item that is unknown or too low; empty
        when everything is available.

    Raises:
        IncompatibleUnitsError: A quantity's units do not fit its item.
        QuantityError: A quantity cannot be parsed.
    """
    missing: list[Shortfall] = []
    for name, quantity in requirements.items():
        item = items.get(name)
        if item is None:
            missing.append(Shortfall(name, str(quantity), "none (unknown item)"))
            continue
        amount = to_units(name, quantity, item.units)
        if not enough(item, amount):
            missing.append(
                Shortfall(
                    name,
                    format_quantity(amount, item.units),
                    format_quantity(item.amount, item.units),
                )
            )
    return missing


def feasible_recipes(
    items: Mapping[str, InventoryItem], recipes: Mapping[K, Requirements]
) -> list[K]:
    """Return the keys of the recipes that can each be made from ``items``.

    Each recipe is checked on its own against the same stock snapshot.

    Args:
        items: The inventory, by name.
        recipes: Recipe key -> its requirements.

    Returns:
        Keys of the feasible recipes, in the order of ``recipes``.
    """
    return [key for key, needs in recipes.items() if not shortfalls(items, needs)]

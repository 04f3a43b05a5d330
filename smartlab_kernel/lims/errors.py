"""Exceptions and warnings raised by the LIMS.

Every error says what was wrong, the value given and what is allowed, so a
user at the bench can act on it without reading the source.
"""

from __future__ import annotations

from collections.abc import Iterable


class LimsError(Exception):
    """Base class of every error raised by :mod:`smartlab_kernel.lims`."""


class UnknownSampleError(LimsError, KeyError):
    """A sample id that is not in the store.

    Args:
        sample_id: The id that was looked up.
    """

    def __init__(self, sample_id: str) -> None:
        super().__init__(f"no sample with id {sample_id!r} in the LIMS")
        self.sample_id = sample_id

    def __str__(self) -> str:
        return str(self.args[0])


class UnknownItemError(LimsError, KeyError):
    """An inventory item name that is not in the store.

    Args:
        name: The item name that was looked up.
        known: Names of the items that do exist, listed in the message.
    """

    def __init__(self, name: str, known: Iterable[str] = ()) -> None:
        names = sorted(known)
        hint = f"; known items: {', '.join(names)}" if names else "; the inventory is empty"
        super().__init__(f"no inventory item named {name!r}{hint}")
        self.name = name

    def __str__(self) -> str:
        return str(self.args[0])


class DuplicateError(LimsError):
    """Something with this id or name is already registered."""


class IllegalTransitionError(LimsError):
    """A lifecycle transition that the state machine does not allow.

    Args:
        sample_id: The sample whose state was to change.
        current: Its current state.
        requested: The state that was asked for.
        allowed: The states reachable from ``current``.
    """

    def __init__(
        self, sample_id: str, current: str, requested: str, allowed: Iterable[str]
    ) -> None:
        self.sample_id = sample_id
        self.current = current
        self.requested = requested
        self.allowed = tuple(allowed)
        options = ", ".join(self.allowed) if self.allowed else "none (final state)"
        super().__init__(
            f"sample {sample_id} cannot go from {current!r} to {requested!r}; "
            f"allowed next states: {options}"
        )


class QuantityError(LimsError, ValueError):
    """A quantity that cannot be parsed, or is negative where it must not be."""


class IncompatibleUnitsError(QuantityError):
    """A quantity whose units cannot be converted to the item's units.

    Args:
        item: The inventory item.
        item_units: The units the item is kept in.
        given: The quantity that was given, as text.
    """

    def __init__(self, item: str, item_units: str, given: str) -> None:
        self.item = item
        self.item_units = item_units
        self.given = given
        super().__init__(
            f"cannot use {given!r} for inventory item {item!r}: it is kept in "
            f"{item_units!r} and the units are not compatible"
        )


class InsufficientStockError(LimsError):
    """A request for more of an item than is in stock.

    Args:
        item: The inventory item.
        requested: The quantity asked for, as text.
        available: The quantity in stock, as text.
    """

    def __init__(self, item: str, requested: str, available: str) -> None:
        self.item = item
        self.requested = requested
        self.available = available
        super().__init__(f"not enough {item!r}: requested {requested}, available {available}")


class TransactionStateError(LimsError):
    """A transaction used after it ended, or a store call nested inside one."""


class SchemaVersionError(LimsError):
    """The database schema is not at the revision this package expects."""


class LowStockWarning(UserWarning):
    """An inventory item fell to or below its low-stock threshold."""

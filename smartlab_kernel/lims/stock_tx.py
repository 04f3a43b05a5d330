"""Inventory changes inside a transaction: add, consume, restock, thresholds."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from . import queries
from ._txbase import TransactionBase
from ._util import canonical_json, utc_now
from .errors import DuplicateError, InsufficientStockError, QuantityError
from .ids import normalize_sample_id
from .inventory import enough
from .records import InventoryItem
from .schema import inventory_items, inventory_usage
from .units import canonical_units, format_quantity, parse_quantity, to_units


class InventoryTransactionMixin(TransactionBase):
    """Inventory methods of :class:`LimsTransaction`."""

    def add_item(
        self,
        name: str,
        quantity: str | Any,
        *,
        kind: str = "stock_solution",
        low_threshold: str | Any | None = None,
        sample_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> InventoryItem:
        """Add a stock solution or consumable to the inventory.

        Args:
            name: Unique item name, e.g. ``"stock_A"``.
            quantity: Amount in stock with units, e.g. ``"25 mL"`` or ``"3 vial"``;
                the item is kept in these units from now on.
            kind: ``"stock_solution"``, ``"consumable"`` or another label.
            low_threshold: Quantity at or below which the item counts as low.
            sample_id: Sample record of this stock, so lineage reaches it.
            metadata: Free-form JSON metadata (supplier, lot, concentration...).

        Returns:
            The new item.

        Raises:
            DuplicateError: An item with this name exists.
            QuantityError: A quantity cannot be parsed or is negative.
            IncompatibleUnitsError: ``low_threshold`` does not fit the units.
        """
        if not name or not name.strip():
            raise ValueError("an inventory item needs a non-empty name such as 'stock_A'")
        exists = self.conn.execute(
            sa.select(inventory_items.c.name).where(inventory_items.c.name == name)
        ).first()
        if exists is not None:
            raise DuplicateError(f"inventory item {name!r} already exists; use restock()")
        parsed = parse_quantity(quantity)
        units = canonical_units(parsed)
        amount = float(parsed.magnitude)
        if amount < 0:
            raise QuantityError(f"stock of {name!r} cannot be negative, got {quantity!r}")
        threshold = None if low_threshold is None else to_units(name, low_threshold, units)
        stock_sample = None
        if sample_id is not None:
            stock_sample = queries.get_sample(self.conn, normalize_sample_id(sample_id)).sample_id
        self.conn.execute(
            inventory_items.insert().values(
                name=name,
                kind=kind,
                amount=amount,
                units=units,
                low_threshold=threshold,
                sample_id=stock_sample,
                metadata_json=canonical_json(dict(metadata or {})),
            )
        )
        item = queries.get_item(self.conn, name)
        self._audit("add_item", f"item:{name}", None, item.to_dict())
        return item

    def consume(
        self,
        name: str,
        quantity: str | Any,
        *,
        sample_id: str | None = None,
        run_uid: str | None = None,
    ) -> InventoryItem:
        """Take ``quantity`` of an item out of stock.

        The decrement, its usage record and its audit entry are part of this
        transaction: if anything later in the ``with`` block fails, the stock
        is as it was. Emits :class:`LowStockWarning` after commit if the item
        fell to or below its threshold.

        Args:
            name: The item, e.g. ``"stock_A"``.
            quantity: How much, e.g. ``"2 mL"`` (any compatible units).
            sample_id: The sample it went into, if any.
            run_uid: The run that used it, if any.

        Returns:
            The item after the decrement.

        Raises:
            UnknownItemError: No such item.
            IncompatibleUnitsError: The units do not fit the item.
            InsufficientStockError: Less in stock than requested; the message
                names the item, the requested and the available amounts.
            QuantityError: ``quantity`` is not positive or cannot be parsed.
        """
        before = self.get_item(name)
        amount = to_units(name, quantity, before.units)
        if amount <= 0:
            raise QuantityError(f"consume a positive quantity of {name!r}, got {quantity!r}")
        if not enough(before, amount):
            raise InsufficientStockError(
                name,
                format_quantity(amount, before.units),
                format_quantity(before.amount, before.units),
            )
        if sample_id is not None:
            sample_id = queries.get_sample(self.conn, normalize_sample_id(sample_id)).sample_id
        after = self._set_amount(before, max(before.amount - amount, 0.0))
        seq = self._audit(
            "consume",
            f"item:{name}",
            before.to_dict(),
            {**after.to_dict(), "consumed": amount, "sample_id": sample_id, "run_uid": run_uid},
        )
        self.conn.execute(
            inventory_usage.insert().values(
                item_name=name,
                amount=amount,
                units=before.units,
                sample_id=sample_id,
                run_uid=run_uid,
                operator=self.operator,
                at=utc_now(),
                audit_seq=seq,
            )
        )
        if after.is_low and not before.is_low:
            self._low.append(after)
        return after

    def restock(self, name: str, quantity: str | Any) -> InventoryItem:
        """Add ``quantity`` (any compatible units) to an item's stock.

        Raises:
            UnknownItemError: No such item.
            IncompatibleUnitsError: The units do not fit the item.
            QuantityError: ``quantity`` is not positive or cannot be parsed.
        """
        before = self.get_item(name)
        amount = to_units(name, quantity, before.units)
        if amount <= 0:
            raise QuantityError(f"restock a positive quantity of {name!r}, got {quantity!r}")
        after = self._set_amount(before, before.amount + amount)
        self._audit("restock", f"item:{name}", before.to_dict(), after.to_dict())
        return after

    def set_low_threshold(self, name: str, threshold: str | Any | None) -> InventoryItem:
        """Set (or with ``None`` clear) the low-stock threshold of an item.

        Raises:
            UnknownItemError: No such item.
            IncompatibleUnitsError: The units do not fit the item.
        """
        before = self.get_item(name)
        value = None if threshold is None else to_units(name, threshold, before.units)
        self.conn.execute(
            inventory_items.update()
            .where(inventory_items.c.name == name)
            .values(low_threshold=value)
        )
        after = queries.get_item(self.conn, name)
        self._audit("set_low_threshold", f"item:{name}", before.to_dict(), after.to_dict())
        return after

    def _set_amount(self, item: InventoryItem, amount: float) -> InventoryItem:
        amount = float(f"{amount:.12g}")  # drop float round-off such as 4.800000000000001
        self.conn.execute(
            inventory_items.update()
            .where(inventory_items.c.name == item.name)
            .values(amount=amount)
        )
        return queries.get_item(self.conn, item.name)

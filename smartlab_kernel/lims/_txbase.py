"""Shared core of :class:`LimsTransaction`: the connection and audit writing."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from . import queries
from .anchor import AuditHead
from .audit import append_entry
from .errors import TransactionStateError
from .ids import normalize_sample_id
from .records import InventoryItem, Sample


class TransactionBase:
    """Connection handling and audit writing common to every transaction method.

    Args:
        conn: Connection with an open transaction holding the write lock.
        operator: Who is making the changes (recorded in the audit trail).
    """

    def __init__(self, conn: sa.Connection, operator: str) -> None:
        self._conn: sa.Connection | None = conn
        self.operator = operator
        self._low: list[InventoryItem] = []
        #: The newest audit entry this transaction wrote (for the head file).
        self.head: AuditHead | None = None

    @property
    def conn(self) -> sa.Connection:
        """The open connection; raises once the transaction has ended."""
        if self._conn is None:
            raise TransactionStateError("this LIMS transaction has ended; open a new one")
        return self._conn

    def _close(self) -> list[InventoryItem]:
        """End the transaction object; return items that went low during it."""
        self._conn = None
        return self._low

    def _audit(self, action: str, entity: str, before: Any, after: Any) -> int:
        entry = append_entry(
            self.conn,
            operator=self.operator,
            action=action,
            entity=entity,
            before=before,
            after=after,
        )
        self.head = AuditHead(entry.seq, entry.hash)
        return entry.seq

    def get_sample(self, sample_id: str) -> Sample:
        """Return a sample as this transaction sees it.

        Raises:
            UnknownSampleError: No such sample.
        """
        return queries.get_sample(self.conn, normalize_sample_id(sample_id))

    def get_item(self, name: str) -> InventoryItem:
        """Return an inventory item as this transaction sees it.

        Raises:
            UnknownItemError: No such item.
        """
        return queries.get_item(self.conn, name)

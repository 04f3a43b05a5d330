"""The LIMS store: open a database, run transactions, query and verify."""

from __future__ import annotations

import getpass
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from .database import (
    create_lims_engine,
    database_url,
    lock_for_writing,
    mark_for_writing,
    require_head,
    upgrade_to_head,
)
from .errors import LowStockWarning, TransactionStateError
from .store_changes import LimsChanges
from .store_queries import LimsQueries
from .transaction import LimsTransaction


class LimsStore(LimsChanges, LimsQueries):
    """Samples, inventory, runs and the audit trail in one database.

    Open with :meth:`open`; change things inside :meth:`transaction`. The
    one-line methods (:meth:`register_sample`, :meth:`consume`, ...) each run
    their own transaction; inside a ``with store.transaction()`` block use the
    same methods on the transaction object instead.

    Args:
        engine: An engine made by :func:`create_lims_engine` at schema head.
        operator: Default operator recorded in the audit trail.
    """

    def __init__(self, engine: sa.Engine, operator: str) -> None:
        self.engine = engine
        self.operator = operator
        self._local = threading.local()

    @classmethod
    def open(
        cls,
        target: str | Path,
        *,
        operator: str | None = None,
        schema: str | None = None,
        upgrade: bool = True,
    ) -> LimsStore:
        """Open (creating or migrating as needed) a LIMS database.

        Args:
            target: A file path (SQLite), a ``sqlite:///`` URL or a
                ``postgresql+psycopg://`` URL.
            operator: Default operator for the audit trail (the login name).
            schema: PostgreSQL schema to keep the tables in (created if missing).
            upgrade: Run the Alembic migrations to head; if False, refuse a
                database that is not at head.

        Returns:
            The open store.

        Raises:
            SchemaVersionError: The schema is newer than this package, or not
                at head while ``upgrade`` is False.
        """
        engine = create_lims_engine(database_url(target), schema)
        try:
            upgrade_to_head(engine) if upgrade else require_head(engine)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, operator or getpass.getuser())

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def __enter__(self) -> LimsStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LimsStore({self.engine.url.render_as_string(hide_password=True)!r})"

    @contextmanager
    def transaction(self, operator: str | None = None) -> Iterator[LimsTransaction]:
        """Open a transaction: every change inside commits or rolls back together.

        Example::

            with lims.transaction(operator="ana") as tx:
                tx.consume("stock_A", "2 mL", sample_id=sample_id)
                tx.transition(sample_id, "prepared")

        Args:
            operator: Who makes the changes; defaults to the store's operator.

        Yields:
            The transaction. Any exception in the block rolls back every
            decrement, transition and audit entry made through it.

        Raises:
            TransactionStateError: Another transaction is open in this thread.
        """
        if getattr(self._local, "tx", None) is not None:
            raise TransactionStateError(
                "a LIMS transaction is already open in this thread; call the method on that "
                "transaction (tx.consume(...)) instead of on the store"
            )
        with self.engine.connect() as conn:
            mark_for_writing(conn)
            tx = LimsTransaction(conn, operator or self.operator)
            self._local.tx = tx
            try:
                with conn.begin():
                    lock_for_writing(conn)
                    yield tx
            finally:
                self._local.tx = None
                low = tx._close()
        for item in low:
            warnings.warn(f"low stock: {item.describe()}", LowStockWarning, stacklevel=3)

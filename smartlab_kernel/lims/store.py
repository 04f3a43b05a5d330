"""The LIMS store: open a database, run transactions, query and verify."""

from __future__ import annotations

import getpass
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from .anchor import append_head, default_head_file
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

    Every transaction that writes audit entries appends the new head of the
    chain to :attr:`head_file` after it commits (see
    :mod:`smartlab_kernel.lims.anchor`), so that :meth:`verify_audit` can
    tell when the newest entries were deleted.

    Args:
        engine: An engine made by :func:`create_lims_engine` at schema head.
        operator: Default operator recorded in the audit trail.
        head_file: Where to append the audit head after each commit
            (``None``: nowhere).
        schema: The PostgreSQL schema the engine uses, if any (part of :attr:`location`).
    """

    def __init__(
        self,
        engine: sa.Engine,
        operator: str,
        head_file: Path | None = None,
        schema: str | None = None,
    ) -> None:
        self.engine = engine
        self.operator = operator
        #: The PostgreSQL schema holding the tables, if not the default one.
        self.schema = schema
        #: The audit head file, or ``None``.
        self.head_file = head_file
        self._local = threading.local()

    @classmethod
    def open(
        cls,
        target: str | Path,
        *,
        operator: str | None = None,
        schema: str | None = None,
        upgrade: bool = True,
        head_file: str | Path | bool = True,
    ) -> LimsStore:
        """Open (creating or migrating as needed) a LIMS database.

        Args:
            target: A file path (SQLite), a ``sqlite:///`` URL or a
                ``postgresql+psycopg://`` URL.
            operator: Default operator for the audit trail (the login name).
            schema: PostgreSQL schema to keep the tables in (created if missing).
            upgrade: Run the Alembic migrations to head; if False, refuse a
                database that is not at head.
            head_file: The audit head file: ``True`` for the default
                (``<database file>.audit-head`` beside a SQLite file, none for
                PostgreSQL: give one, e.g. in the lab directory), a path, or
                ``False`` for none.

        Returns:
            The open store.

        Raises:
            SchemaVersionError: The schema is newer than this package, or not
                at head while ``upgrade`` is False.
        """
        url = database_url(target)
        engine = create_lims_engine(url, schema)
        try:
            upgrade_to_head(engine) if upgrade else require_head(engine)
        except BaseException:
            engine.dispose()
            raise
        if head_file is True:
            head_path = default_head_file(url)
        elif head_file is False:
            head_path = None
        else:
            head_path = Path(head_file).expanduser()
        return cls(engine, operator or getpass.getuser(), head_path, schema)

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def __enter__(self) -> LimsStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def location(self) -> str:
        """Where the LIMS is: its URL without password, and its schema (``...#schema=lims``).

        Recorded with the audit heads anchored in run start documents, so that
        a catalog whose runs used several LIMS databases checks each against
        its own.
        """
        url = self.engine.url.render_as_string(hide_password=True)
        return url if self.schema is None else f"{url}#schema={self.schema}"

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
                head = tx.head
                low = tx._close()
        if head is not None and self.head_file is not None:  # committed: anchor it
            append_head(self.head_file, head)
        for item in low:
            warnings.warn(f"low stock: {item.describe()}", LowStockWarning, stacklevel=3)

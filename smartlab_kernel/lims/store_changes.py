"""One-call changes of :class:`LimsStore`: each runs in its own transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

from .lifecycle import SampleState
from .records import InventoryItem, RunRecord, Sample
from .transaction import LimsTransaction


class LimsChanges:
    """Shortcuts for single changes; inside a transaction use the ``tx`` methods."""

    def transaction(self, operator: str | None = None) -> AbstractContextManager[LimsTransaction]:
        """Open a transaction (implemented by :class:`LimsStore`)."""
        raise NotImplementedError

    def register_sample(
        self,
        sample_type: str,
        *,
        parents: Sequence[str] = (),
        location: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        campaign_id: str | None = None,
        sample_id: str | None = None,
        operator: str | None = None,
    ) -> Sample:
        """Register a sample; see :meth:`LimsTransaction.register_sample`.

        Args:
            sample_type: What it is, e.g. ``"mixture"``.
            parents: Ids of existing samples it is made from.
            location: Rack / station / position, if known.
            metadata: Free-form JSON-serialisable metadata.
            campaign_id: Campaign it belongs to, if any.
            sample_id: An explicit id; by default a fresh ``S-XXXXX`` code.
            operator: Who registers it; defaults to the store's operator.
        """
        with self.transaction(operator) as tx:
            return tx.register_sample(
                sample_type,
                parents=parents,
                location=location,
                metadata=metadata,
                campaign_id=campaign_id,
                sample_id=sample_id,
            )

    def transition(
        self, sample_id: str, state: str | SampleState, *, operator: str | None = None
    ) -> Sample:
        """Move a sample to ``state``.

        Raises:
            IllegalTransitionError: The transition is not allowed; the message
                names the current, requested and allowed next states.
        """
        with self.transaction(operator) as tx:
            return tx.transition(sample_id, state)

    def move(self, sample_id: str, location: str | None, *, operator: str | None = None) -> Sample:
        """Record a sample's new location (e.g. reported by the robot)."""
        with self.transaction(operator) as tx:
            return tx.move(sample_id, location)

    def add_item(
        self,
        name: str,
        quantity: str | Any,
        *,
        kind: str = "stock_solution",
        low_threshold: str | Any | None = None,
        sample_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        operator: str | None = None,
    ) -> InventoryItem:
        """Add an inventory item; see :meth:`LimsTransaction.add_item`.

        Args:
            name: Unique item name, e.g. ``"stock_A"``.
            quantity: Amount with units, e.g. ``"25 mL"`` or ``"3 vial"``.
            kind: ``"stock_solution"``, ``"consumable"`` or another label.
            low_threshold: Quantity at or below which the item counts as low.
            sample_id: Sample record of this stock, so lineage reaches it.
            metadata: Free-form JSON metadata.
            operator: Who adds it; defaults to the store's operator.
        """
        with self.transaction(operator) as tx:
            return tx.add_item(
                name,
                quantity,
                kind=kind,
                low_threshold=low_threshold,
                sample_id=sample_id,
                metadata=metadata,
            )

    def consume(
        self,
        name: str,
        quantity: str | Any,
        *,
        sample_id: str | None = None,
        run_uid: str | None = None,
        operator: str | None = None,
    ) -> InventoryItem:
        """Take stock out on its own; see :meth:`LimsTransaction.consume`.

        Raises:
            InsufficientStockError: Less in stock than requested.
            IncompatibleUnitsError: The units do not fit the item.
        """
        with self.transaction(operator) as tx:
            return tx.consume(name, quantity, sample_id=sample_id, run_uid=run_uid)

    def restock(
        self, name: str, quantity: str | Any, *, operator: str | None = None
    ) -> InventoryItem:
        """Add ``quantity`` (any compatible units) to an item's stock."""
        with self.transaction(operator) as tx:
            return tx.restock(name, quantity)

    def record_run(
        self,
        run_uid: str,
        sample_ids: Iterable[str],
        campaign_id: str | None = None,
        *,
        metadata: Mapping[str, Any] | None = None,
        operator: str | None = None,
    ) -> RunRecord:
        """Record a run (e.g. a Bluesky start document's uid) and the samples it touched.

        Raises:
            DuplicateError: The run uid is already recorded.
            UnknownSampleError: A sample does not exist.
        """
        with self.transaction(operator) as tx:
            return tx.record_run(run_uid, sample_ids, campaign_id, metadata)

    def finish_run(
        self,
        run_uid: str,
        exit_status: str,
        reason: str = "",
        *,
        operator: str | None = None,
        **metadata: Any,
    ) -> RunRecord:
        """Record how a run ended; see :meth:`LimsTransaction.finish_run`.

        Raises:
            LimsError: The run is not recorded.
        """
        with self.transaction(operator) as tx:
            return tx.finish_run(run_uid, exit_status, reason, **metadata)

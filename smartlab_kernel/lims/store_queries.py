"""Read-only queries of :class:`LimsStore`: samples, lineage, runs, stock, audit."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
import sqlalchemy as sa

from . import queries
from .anchor import AuditHead
from .audit import iter_entries
from .crate import write_crate
from .export import TABLE_DESCRIPTIONS, campaign_tables
from .ids import normalize_sample_id
from .inventory import Requirements, Shortfall, feasible_recipes, shortfalls
from .records import AuditEntry, InventoryItem, Lineage, RunRecord, Sample
from .schema import audit_log
from .verify import AuditReport, verify_store

K = TypeVar("K", bound=Hashable)


class LimsQueries:
    """Read methods of :class:`LimsStore`; each uses a short-lived connection."""

    engine: sa.Engine
    head_file: Path | None

    def _read(self) -> sa.Connection:
        return self.engine.connect()

    def get_sample(self, sample_id: str) -> Sample:
        """Return a sample by id (case and spaces of a typed id do not matter).

        Raises:
            UnknownSampleError: No such sample.
        """
        with self._read() as conn:
            return queries.get_sample(conn, normalize_sample_id(sample_id))

    def find_samples(self, **filters: Any) -> list[Sample]:
        """Return samples matching all filters, newest first.

        Args:
            **filters: ``id_contains``, ``sample_type``, ``state``,
                ``campaign_id``, ``limit``.
        """
        with self._read() as conn:
            return queries.find_samples(conn, **filters)

    def lineage(self, sample_id: str) -> Lineage:
        """Return a sample's ancestors and descendants."""
        with self._read() as conn:
            return queries.lineage(conn, normalize_sample_id(sample_id))

    def runs_of_sample(self, sample_id: str) -> list[RunRecord]:
        """Return every run that touched a sample, oldest first."""
        with self._read() as conn:
            return queries.runs_of_sample(conn, normalize_sample_id(sample_id))

    def runs_of_campaign(self, campaign_id: str) -> list[RunRecord]:
        """Return every run of a campaign, oldest first."""
        with self._read() as conn:
            return queries.runs_of_campaign(conn, campaign_id)

    def get_run(self, run_uid: str) -> RunRecord | None:
        """Return the run with this uid, or ``None`` if it is not recorded."""
        with self._read() as conn:
            return queries.get_run(conn, run_uid)

    def unfinished_runs(self) -> list[RunRecord]:
        """Return the runs recorded at their start whose end is not recorded yet.

        Those of a process that is gone (killed while a run was in progress)
        stay here until closed with :meth:`finish_run`.
        """
        with self._read() as conn:
            return queries.unfinished_runs(conn)

    def samples_of_campaign(self, campaign_id: str) -> list[Sample]:
        """Return the samples of a campaign (registered for it or used by its runs)."""
        with self._read() as conn:
            return queries.samples_of_campaign(conn, campaign_id)

    def get_item(self, name: str) -> InventoryItem:
        """Return an inventory item by name.

        Raises:
            UnknownItemError: No such item.
        """
        with self._read() as conn:
            return queries.get_item(conn, name)

    def items(self) -> list[InventoryItem]:
        """Return every inventory item, by name."""
        with self._read() as conn:
            return queries.list_items(conn)

    def low_stock(self) -> list[InventoryItem]:
        """Return the items at or below their low-stock threshold."""
        return [item for item in self.items() if item.is_low]

    def shortfalls(self, requirements: Requirements) -> list[Shortfall]:
        """Return what is missing to serve ``requirements`` (empty if nothing)."""
        return shortfalls({i.name: i for i in self.items()}, requirements)

    def available(self, requirements: Requirements) -> bool:
        """Return whether everything in ``requirements`` is in stock.

        Args:
            requirements: Item name -> quantity, e.g. ``{"stock_A": "2 mL"}``.

        Raises:
            IncompatibleUnitsError: A quantity's units do not fit its item.
        """
        return not self.shortfalls(requirements)

    def feasible(self, recipes: Mapping[K, Requirements]) -> list[K]:
        """Return the keys of the recipes that can be made from current stock.

        Args:
            recipes: Recipe key -> requirements; the planner drops the others.
        """
        return feasible_recipes({i.name: i for i in self.items()}, recipes)

    def audit_entries(self, entity: str | None = None) -> list[AuditEntry]:
        """Return audit entries in order, optionally only those about ``entity``."""
        with self._read() as conn:
            return list(iter_entries(conn, entity))

    def history(self, sample_id: str) -> list[AuditEntry]:
        """Return the audit entries about one sample, oldest first."""
        return self.audit_entries(f"sample:{normalize_sample_id(sample_id)}")

    def audit_head(self) -> AuditHead | None:
        """The newest audit entry's ``seq`` and hash (``None`` while the log is empty)."""
        with self._read() as conn:
            row = conn.execute(
                sa.select(audit_log.c.seq, audit_log.c.hash)
                .order_by(audit_log.c.seq.desc())
                .limit(1)
            ).first()
        return None if row is None else AuditHead(int(row.seq), str(row.hash))

    def verify_audit(
        self,
        anchors: Iterable[AuditHead | tuple[str, AuditHead]] = (),
        *,
        head_files: Iterable[str | Path] = (),
    ) -> AuditReport:
        """Check the audit trail: the hash chain, its anchored heads, and the tables it implies.

        Besides the chain, the report names entries deleted from the end
        (against :attr:`head_file`, ``head_files`` and ``anchors``, e.g. the
        ``lims_audit_head`` of run start documents), and every inventory,
        usage, sample or run row that disagrees with a replay of the log.

        Args:
            anchors: Heads recorded elsewhere, bare or as ``(where, head)``.
            head_files: More head files to check (besides :attr:`head_file`).

        Returns:
            The report: truthy when intact; its ``str`` names every problem.
        """
        labelled = [
            a if isinstance(a, tuple) else (f"anchor {a.seq}:{a.hash[:12]}...", a) for a in anchors
        ]
        files = [Path(p) for p in head_files]
        if self.head_file is not None:
            files.insert(0, self.head_file)
        with self._read() as conn:
            return verify_store(conn, files, labelled)

    def campaign_tables(self, campaign_id: str) -> dict[str, pd.DataFrame]:
        """Return the LIMS tables of a campaign as DataFrames (what export writes).

        Args:
            campaign_id: The campaign.

        Returns:
            ``samples``, ``lineage``, ``runs``, ``run_samples``,
            ``inventory_usage`` and ``audit``.
        """
        with self._read() as conn:
            return campaign_tables(conn, campaign_id)

    def export_campaign(
        self,
        campaign_id: str,
        directory: str | Path,
        runs: pd.DataFrame | None = None,
        *,
        tables: Mapping[str, pd.DataFrame] | None = None,
    ) -> Path:
        """Export a campaign for publication as CSV + Parquet with an RO-Crate manifest.

        Args:
            campaign_id: The campaign.
            directory: Where to write (created if missing).
            runs: Optional run results (e.g. from the data catalog), one row
                per run; written as the ``run_results`` table.
            tables: Extra tables, e.g. ``{"planner_decisions": df,
                "environment": df}``, written the same way.

        Returns:
            Path of ``ro-crate-metadata.json``.

        Raises:
            ValueError: An extra table clashes with a built-in one or has a
                name that is not a plain file-name stem.
        """
        extra = dict(tables or {})
        if runs is not None:
            extra["run_results"] = runs
        builtin = self.campaign_tables(campaign_id)
        clashes = sorted(set(extra) & set(builtin))
        if clashes:
            raise ValueError(f"extra tables {clashes} clash with built-in tables {list(builtin)}")
        return write_crate(
            directory,
            {**builtin, **extra},
            name=f"Campaign {campaign_id}",
            description=f"Samples, lineage, runs, stock usage and audit trail of campaign "
            f"{campaign_id}, exported from the smartlab_kernel LIMS.",
            descriptions=TABLE_DESCRIPTIONS,
        )

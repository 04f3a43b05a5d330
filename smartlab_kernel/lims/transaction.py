"""A unit of work on the LIMS: every change inside commits or rolls back together.

Obtain one from :meth:`LimsStore.transaction`; each mutating method writes
its audit entry in the same database transaction as the change itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from . import queries
from ._util import canonical_json, utc_now
from .errors import DuplicateError, LimsError
from .ids import new_sample_id, normalize_sample_id
from .lifecycle import SampleState, check_transition
from .records import RunRecord, Sample
from .schema import run_samples, runs, sample_parents, samples
from .stock_tx import InventoryTransactionMixin


class LimsTransaction(InventoryTransactionMixin):
    """Changes to samples, inventory and runs that succeed or fail as one.

    Do not create one directly: use ``with store.transaction(operator=...) as tx``.
    Any exception inside the ``with`` block rolls back every change made
    through ``tx``, audit entries included.

    Args:
        conn: Connection with an open transaction holding the write lock.
        operator: Who is making the changes (recorded in the audit trail).
    """

    # -- samples -------------------------------------------------------------

    def register_sample(
        self,
        sample_type: str,
        *,
        parents: Sequence[str] = (),
        location: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        campaign_id: str | None = None,
        sample_id: str | None = None,
    ) -> Sample:
        """Register a new sample in state ``registered``.

        Args:
            sample_type: What it is, e.g. ``"mixture"``.
            parents: Ids of existing samples it is made from.
            location: Rack / station / position, if known.
            metadata: Free-form JSON-serialisable metadata.
            campaign_id: Campaign it belongs to, if any.
            sample_id: An explicit id; by default a fresh ``S-XXXXX`` code.

        Returns:
            The registered sample.

        Raises:
            UnknownSampleError: A parent does not exist.
            DuplicateError: ``sample_id`` is taken or a parent is repeated.
            ValueError: ``sample_type`` is empty or metadata is not JSON.
        """
        if not sample_type or not sample_type.strip():
            raise ValueError("sample_type must be a non-empty string such as 'mixture'")
        parent_ids = [normalize_sample_id(p) for p in parents]
        if len(set(parent_ids)) != len(parent_ids):
            raise DuplicateError(f"parents must be distinct, got {parent_ids}")
        for parent in parent_ids:
            queries.get_sample(self.conn, parent)
        meta = dict(metadata or {})
        try:
            meta_json = canonical_json(meta)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"sample metadata must be JSON-serialisable: {exc}") from None
        new_id = self._free_sample_id(sample_id)
        now = utc_now()
        self.conn.execute(
            samples.insert().values(
                sample_id=new_id,
                sample_type=sample_type.strip(),
                state=SampleState.REGISTERED.value,
                location=location,
                campaign_id=campaign_id,
                metadata_json=meta_json,
                created_at=now,
                created_by=self.operator,
                updated_at=now,
            )
        )
        if parent_ids:
            self.conn.execute(
                sample_parents.insert(),
                [
                    {"child_id": new_id, "parent_id": p, "position": i}
                    for i, p in enumerate(parent_ids)
                ],
            )
        sample = queries.get_sample(self.conn, new_id)
        self._audit("register_sample", f"sample:{new_id}", None, sample.to_dict())
        return sample

    def _free_sample_id(self, requested: str | None) -> str:
        if requested is not None:
            candidate = normalize_sample_id(requested)
            if not candidate:
                raise ValueError("an explicit sample_id must not be empty")
            if self._sample_exists(candidate):
                raise DuplicateError(f"sample id {candidate!r} is already registered")
            return candidate
        for _ in range(50):
            candidate = new_sample_id()
            if not self._sample_exists(candidate):
                return candidate
        raise DuplicateError("could not find a free sample id after 50 draws")

    def _sample_exists(self, sample_id: str) -> bool:
        query = sa.select(samples.c.sample_id).where(samples.c.sample_id == sample_id)
        return self.conn.execute(query).first() is not None

    def _update_sample(self, sample_id: str, action: str, **values: Any) -> Sample:
        before = self.get_sample(sample_id)
        self.conn.execute(
            samples.update()
            .where(samples.c.sample_id == before.sample_id)
            .values(updated_at=utc_now(), **values)
        )
        after = queries.get_sample(self.conn, before.sample_id)
        self._audit(action, f"sample:{before.sample_id}", before.to_dict(), after.to_dict())
        return after

    def transition(self, sample_id: str, state: str | SampleState) -> Sample:
        """Move a sample to the next lifecycle state.

        Raises:
            IllegalTransitionError: Not allowed from the current state; the
                message names current, requested and allowed next states.
        """
        current = self.get_sample(sample_id)
        target = check_transition(current.sample_id, current.state, state)
        return self._update_sample(current.sample_id, "transition", state=target.value)

    def move(self, sample_id: str, location: str | None) -> Sample:
        """Record that a sample is now at ``location`` (e.g. ``"rack1:A3"``)."""
        return self._update_sample(sample_id, "move", location=location)

    def update_metadata(self, sample_id: str, metadata: Mapping[str, Any]) -> Sample:
        """Merge ``metadata`` into a sample's metadata (keys given replace old ones)."""
        merged = {**self.get_sample(sample_id).metadata, **metadata}
        return self._update_sample(
            sample_id, "update_metadata", metadata_json=canonical_json(merged)
        )

    # -- runs ----------------------------------------------------------------

    def record_run(
        self,
        run_uid: str,
        sample_ids: Iterable[str],
        campaign_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> RunRecord:
        """Record a run and link it to the samples it touched.

        Raises:
            DuplicateError: The run uid is already recorded.
            UnknownSampleError: A sample does not exist.
        """
        if queries.get_run(self.conn, run_uid) is not None:
            raise DuplicateError(f"run {run_uid!r} is already recorded")
        ids = list(dict.fromkeys(normalize_sample_id(s) for s in sample_ids))
        for sample_id in ids:
            queries.get_sample(self.conn, sample_id)
        meta_json = canonical_json(dict(metadata or {}))
        self.conn.execute(
            runs.insert().values(
                run_uid=run_uid,
                campaign_id=campaign_id,
                metadata_json=meta_json,
                recorded_at=utc_now(),
                recorded_by=self.operator,
            )
        )
        if ids:
            self.conn.execute(
                run_samples.insert(),
                [{"run_uid": run_uid, "sample_id": s, "position": i} for i, s in enumerate(ids)],
            )
        run = queries.get_run(self.conn, run_uid)
        assert run is not None
        after = {
            "run_uid": run_uid,
            "sample_ids": ids,
            "campaign_id": campaign_id,
            "metadata": dict(run.metadata),
        }
        self._audit("record_run", f"run:{run_uid}", None, after)
        return run

    def finish_run(
        self, run_uid: str, exit_status: str, reason: str = "", **metadata: Any
    ) -> RunRecord:
        """Record how a run recorded at its start ended.

        ``exit_status`` and ``reason`` (and any other ``metadata``) are merged
        into the run's metadata; the audit entry ``finish_run`` keeps the
        metadata before and after.

        Args:
            run_uid: The run, as given to :meth:`record_run`.
            exit_status: ``"success"``, ``"fail"`` or ``"abort"`` (as in a stop document).
            reason: Why it failed or was aborted, in words.
            **metadata: More JSON-serialisable metadata to merge in.

        Returns:
            The run after the change.

        Raises:
            LimsError: No run with this uid is recorded.
        """
        before = queries.get_run(self.conn, run_uid)
        if before is None:
            raise LimsError(f"run {run_uid!r} is not recorded in the LIMS; record_run() it first")
        merged = {**before.metadata, **metadata, "exit_status": exit_status, "reason": reason}
        self.conn.execute(
            runs.update()
            .where(runs.c.run_uid == run_uid)
            .values(metadata_json=canonical_json(merged))
        )
        after = queries.get_run(self.conn, run_uid)
        assert after is not None
        self._audit(
            "finish_run",
            f"run:{run_uid}",
            {"metadata": dict(before.metadata)},
            {"metadata": dict(after.metadata)},
        )
        return after

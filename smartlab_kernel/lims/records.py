"""Immutable records returned by the LIMS: samples, items, runs, audit entries."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .lifecycle import SampleState, allowed_next
from .units import Quantity, format_quantity, ureg


@dataclass(frozen=True)
class Sample:
    """A physical sample tracked by the LIMS.

    Attributes:
        sample_id: Short printable id, e.g. ``S-7KQ2M``.
        sample_type: What it is, e.g. ``"stock_solution"`` or ``"mixture"``.
        state: Where it is in its lifecycle.
        parents: Ids of the samples it was made from, in the order given.
        location: Rack / station / position, e.g. ``"rack1:A3"``, if known.
        metadata: Free-form JSON metadata.
        campaign_id: Campaign it was registered for, if any.
        created_at: UTC ISO time of registration.
        created_by: Operator who registered it.
        updated_at: UTC ISO time of the last change.
    """

    sample_id: str
    sample_type: str
    state: SampleState
    parents: tuple[str, ...] = ()
    location: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    campaign_id: str | None = None
    created_at: str = ""
    created_by: str = ""
    updated_at: str = ""

    @property
    def allowed_next(self) -> tuple[SampleState, ...]:
        """States this sample may move to next."""
        return allowed_next(self.state)

    def to_dict(self) -> dict[str, Any]:
        """Return the sample as a JSON-serialisable dict (as in the audit trail)."""
        return {
            "sample_id": self.sample_id,
            "sample_type": self.sample_type,
            "state": self.state.value,
            "parents": list(self.parents),
            "location": self.location,
            "metadata": dict(self.metadata),
            "campaign_id": self.campaign_id,
        }


@dataclass(frozen=True)
class InventoryItem:
    """A stock solution or consumable and how much of it is left.

    Attributes:
        name: Unique name, e.g. ``"stock_A"``.
        kind: ``"stock_solution"``, ``"consumable"`` or another label.
        amount: Magnitude in stock, in ``units``.
        units: pint units text, e.g. ``"milliliter"`` or ``"vial"``.
        low_threshold: Amount (in ``units``) at or below which stock is low.
        sample_id: Sample record of this stock (for lineage), if any.
        metadata: Free-form JSON metadata (supplier, lot, concentration...).
    """

    name: str
    kind: str
    amount: float
    units: str
    low_threshold: float | None = None
    sample_id: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def quantity(self) -> Quantity:
        """The amount in stock as a pint quantity."""
        return ureg.Quantity(self.amount, self.units)

    @property
    def is_low(self) -> bool:
        """Whether the amount is at or below the low-stock threshold."""
        return self.low_threshold is not None and self.amount <= self.low_threshold

    def describe(self) -> str:
        """Return e.g. ``"stock_A: 23 ml (low below 5 ml)"``."""
        text = f"{self.name}: {format_quantity(self.amount, self.units)}"
        if self.low_threshold is not None:
            text += f" (low at {format_quantity(self.low_threshold, self.units)})"
        return text

    def to_dict(self) -> dict[str, Any]:
        """Return the item as a JSON-serialisable dict (as in the audit trail)."""
        return {
            "name": self.name,
            "kind": self.kind,
            "amount": self.amount,
            "units": self.units,
            "low_threshold": self.low_threshold,
            "sample_id": self.sample_id,
            "metadata": dict(self.metadata),
        }


@dataclass(frozen=True)
class RunRecord:
    """A run (e.g. a Bluesky run) and the samples it touched.

    Attributes:
        run_uid: The run's unique id (the start document's ``uid``).
        sample_ids: Samples the run touched, in the order given.
        campaign_id: Campaign the run belongs to, if any.
        metadata: Free-form JSON metadata.
        recorded_at: UTC ISO time the run was recorded.
        recorded_by: Operator who recorded it.
    """

    run_uid: str
    sample_ids: tuple[str, ...]
    campaign_id: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    recorded_at: str = ""
    recorded_by: str = ""


@dataclass(frozen=True)
class AuditEntry:
    """One entry of the append-only, hash-chained audit trail.

    Attributes:
        seq: Position in the chain, from 1 without gaps.
        at: UTC ISO time of the change.
        operator: Who made it.
        action: What was done, e.g. ``"register_sample"`` or ``"consume"``.
        entity: What it was done to, e.g. ``"sample:S-7KQ2M"``, ``"item:stock_A"``.
        before: State before (JSON), ``None`` for a creation.
        after: State after (JSON).
        prev_hash: ``hash`` of entry ``seq - 1`` (64 zeros for the first).
        hash: ``sha256(prev_hash + canonical JSON of the entry)``, hex.
    """

    seq: int
    at: str
    operator: str
    action: str
    entity: str
    before: Any
    after: Any
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class Lineage:
    """Ancestors and descendants of one sample, as parent / child edges.

    Attributes:
        sample_id: The sample the lineage is about.
        parents: For the sample and each ancestor, the ids of its parents.
        children: For the sample and each descendant, the ids of its children.
    """

    sample_id: str
    parents: Mapping[str, tuple[str, ...]]
    children: Mapping[str, tuple[str, ...]]

    @property
    def ancestors(self) -> list[str]:
        """Ids of every ancestor, nearest first (breadth first)."""
        return _walk(self.sample_id, self.parents)

    @property
    def descendants(self) -> list[str]:
        """Ids of every descendant, nearest first (breadth first)."""
        return _walk(self.sample_id, self.children)

    def ancestor_tree(self) -> str:
        """Return the ancestors as an indented text tree rooted at the sample."""
        lines: list[str] = []

        def visit(node: str, depth: int) -> None:
            lines.append("  " * depth + node)
            for parent in self.parents.get(node, ()):
                visit(parent, depth + 1)

        visit(self.sample_id, 0)
        return "\n".join(lines)


def _walk(start: str, edges: Mapping[str, tuple[str, ...]]) -> list[str]:
    seen: list[str] = []
    frontier = list(edges.get(start, ()))
    while frontier:
        node = frontier.pop(0)
        if node not in seen and node != start:
            seen.append(node)
            frontier.extend(edges.get(node, ()))
    return seen

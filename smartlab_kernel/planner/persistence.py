"""Saving and resuming: ``to_config``/``from_config`` and replay of records."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from smartlab_kernel.planner import config as cfg
from smartlab_kernel.planner.errors import InvalidConfigError, PlannerError, PlannerStateError
from smartlab_kernel.planner.history import EVENTS, RECORD_SCHEMA, json_safe
from smartlab_kernel.planner.space import SearchSpace
from smartlab_kernel.planner.state import CampaignState

if TYPE_CHECKING:
    from smartlab_kernel.planner.planner import Planner


def planner_config(planner: Planner, include_candidates: bool) -> dict[str, Any]:
    """The JSON-safe settings of ``planner`` (schema ``smartlab.planner.config/1``)."""
    candidates = None
    if planner.candidate_rows is not None:
        candidates = {
            "sha256": cfg.candidates_hash(planner.candidate_rows),
            "n_rows": len(planner.candidate_rows),
            "rows": planner.candidate_rows if include_candidates else None,
        }
    config = {
        "schema": cfg.CONFIG_SCHEMA,
        "campaign_id": planner.campaign_id,
        "parameters": [cfg.parameter_to_dict(p) for p in planner.space.parameters],
        "objectives": [cfg.objective_to_dict(o) for o in planner.objectives],
        "constraints": [cfg.constraint_to_dict(c) for c in planner.space.constraints],
        "seed": planner.seed,
        "initial_design": planner.initial_design,
        "outcome_warping": planner.outcome_warping,
        "kernel": planner.kernel,
        "design_center": planner.design_center,
        "search_effort": planner.search_effort,
        "pool_design": planner.pool_design,
        "mixed_search": planner.mixed_search,
        "model_fit": planner.model_fit,
        "transfer_start": planner.transfer_start,
        "candidates": candidates,
    }
    if planner.transfer is not None:
        config["history"] = [
            {**summary, "rows": rows}
            for summary, rows in zip(
                planner.transfer.describe(), planner.transfer.rows, strict=True
            )
        ]
    return dict(json_safe(config))


def planner_from_config(
    cls: type[Planner], config: Mapping[str, Any], candidates: pd.DataFrame | None
) -> Planner:
    """Build a planner from ``config``; ``candidates`` overrides inline rows (hash-checked)."""
    if config.get("schema") != cfg.CONFIG_SCHEMA:
        raise InvalidConfigError(
            f"config schema must be {cfg.CONFIG_SCHEMA!r}, got {config.get('schema')!r}"
        )
    stored = config.get("candidates")
    if stored is not None and candidates is None:
        if stored.get("rows") is None:
            raise InvalidConfigError(
                "this config refers to candidates by hash only; pass candidates=DataFrame "
                f"(sha256 {stored['sha256']})"
            )
        candidates = pd.DataFrame(stored["rows"])
    planner = cls(
        parameters=[cfg.parameter_from_dict(p) for p in config["parameters"]],
        objectives=[cfg.objective_from_dict(o) for o in config["objectives"]],
        constraints=[cfg.constraint_from_dict(c) for c in config["constraints"]],
        candidates=candidates,
        seed=int(config["seed"]),
        initial_design=int(config["initial_design"]),
        outcome_warping=bool(config.get("outcome_warping", False)),
        # configurations written before the kernel was recorded used BoTorch's default
        kernel=str(config.get("kernel", "dimension_scaled")),
        # and a pure Sobol initial design
        design_center=bool(config.get("design_center", False)),
        search_effort=config.get("search_effort", legacy_search_effort(config)),
        history=[pd.DataFrame(h["rows"]) for h in config.get("history") or ()],
        # configurations written before pool_design was recorded snapped Sobol points
        pool_design=config.get("pool_design", "sobol"),
        # and searched mixed spaces one category combination at a time
        mixed_search=config.get("mixed_search", "per_combination"),
        # and warm-started every outcome-model fit
        model_fit=config.get("model_fit", "warm"),
        # and began a campaign with history from the usual design
        transfer_start=config.get("transfer_start", "design"),
    )
    if stored is not None and planner.candidate_rows is not None:
        digest = cfg.candidates_hash(planner.candidate_rows)
        if digest != stored["sha256"]:
            raise InvalidConfigError(
                f"candidates do not match the config: sha256 {digest} != {stored['sha256']}"
            )
    if config.get("campaign_id"):
        planner.campaign_id = str(config["campaign_id"])
    return planner


def legacy_search_effort(config: Mapping[str, Any]) -> str:
    """The search a configuration written before ``search_effort`` was recorded made.

    Ax's effort came with the centre point (2026-11-30), with 128 quasi-MC
    samples until the 512 samples were recorded with ``search_effort``; a
    configuration without ``design_center`` is older and searched the quick way.
    """
    return "thorough_128" if "design_center" in config else "quick"


def replay_records(
    space: SearchSpace, state: CampaignState, records: Sequence[Mapping[str, Any]]
) -> CampaignState:
    """A new state with ``records`` applied; ``state`` must be empty and is not modified.

    Raises:
        PlannerStateError: The planner already has history.
        InvalidConfigError: A record is malformed or inconsistent with the space.
    """
    if state.records:
        raise PlannerStateError(
            f"replay needs a planner without history; this one has {len(state.records)} records"
        )
    fresh = CampaignState()
    for index, record in enumerate(records):
        if record.get("schema") != RECORD_SCHEMA or record.get("event") not in EVENTS:
            raise InvalidConfigError(
                f"record {index} is not a planner record (schema {RECORD_SCHEMA}, events {EVENTS})"
            )
        try:
            for key in ("params", "executed"):
                if record.get(key) is not None:
                    space.validate(record[key])
            fresh.apply(dict(json_safe(record)))
        except (PlannerError, KeyError) as error:
            raise InvalidConfigError(f"record {index} cannot be replayed: {error}") from error
    return fresh


__all__ = ["planner_config", "planner_from_config", "replay_records"]

"""Resume a campaign from config + records; same seed and history give the same suggestions."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from smartlab_kernel.planner import (
    Categorical,
    InvalidConfigError,
    Objective,
    Planner,
    PlannerStateError,
    Real,
    SumConstraint,
)
from smartlab_kernel.planner.history import RECORD_SCHEMA


def make_planner(seed: int = 4, candidates: pd.DataFrame | None = None) -> Planner:
    return Planner(
        [Real("a", 0, 1), Real("b", 0, 1), Real("c", 0, 1), Categorical("s", ["x", "y"])],
        [Objective("y", "maximize")],
        constraints=[SumConstraint(["a", "b", "c"], 1.0)],
        candidates=candidates,
        seed=seed,
        initial_design=4,
    )


def f(p: dict) -> float:
    return p["a"] - (p["b"] - 0.3) ** 2 + (0.2 if p["s"] == "y" else 0.0)


def drive(planner: Planner) -> None:
    """A short campaign with every kind of decision, leaving one suggestion pending."""
    batch = planner.suggest(4)
    planner.observe(batch[0], {"y": f(batch[0].params)})
    edited = dict(batch[1].params, s="x" if batch[1].params["s"] == "y" else "y")
    planner.observe(edited, {"y": f(edited)}, suggestion=batch[1])
    planner.reject(batch[2], reason="reagent out of stock")
    planner.fail(batch[3], reason="clogged line")
    manual = {"a": 0.5, "b": 0.25, "c": 0.25, "s": "y"}
    planner.observe(manual, {"y": f(manual)})
    for s in planner.suggest(2):
        planner.observe(s, {"y": f(s.params)}, decision="auto")
    planner.suggest(1)  # stays pending


def test_restore_reproduces_the_next_suggestions() -> None:
    original = make_planner()
    drive(original)
    config = json.loads(json.dumps(original.to_config()))
    records = json.loads(json.dumps(original.history, allow_nan=False))
    restored = Planner.restore(config, records)
    assert restored.history == original.history
    assert [s.id for s in restored.pending] == [s.id for s in original.pending]
    expected = original.suggest(2)
    again = restored.suggest(2)
    assert [s.params for s in again] == [s.params for s in expected]
    assert [s.id for s in again] == [s.id for s in expected]
    assert original.observations.equals(restored.observations)


def test_same_seed_same_history_same_suggestions() -> None:
    one, two = make_planner(seed=9), make_planner(seed=9)
    drive(one)
    drive(two)
    assert [r["params"] for r in one.history if r["event"] == "suggest"] == [
        r["params"] for r in two.history if r["event"] == "suggest"
    ]
    other = make_planner(seed=10)
    assert other.suggest(1)[0].params != make_planner(seed=9).suggest(1)[0].params


def test_record_format() -> None:
    planner = make_planner()
    drive(planner)
    events = [(r["event"], r.get("decision")) for r in planner.history]
    assert ("observe", "accept") in events and ("observe", "edit") in events
    assert ("observe", "manual") in events and ("observe", "auto") in events
    assert ("reject", "reject") in events and ("fail", "fail") in events
    edit = next(r for r in planner.history if r.get("decision") == "edit")
    assert edit["suggested"] != edit["executed"] and edit["suggestion_id"]
    for record in planner.history:
        assert record["schema"] == RECORD_SCHEMA and "time" in record
    model = [r for r in planner.history if r["event"] == "suggest"][-1]["model"]
    assert {"kind", "acquisition_value", "n_observations", "hyperparameters"} <= set(model)


def test_config_round_trip_and_pool_hash() -> None:
    pool = pd.DataFrame(
        {"a": [0.2, 0.5, 0.1], "b": [0.3, 0.25, 0.8], "c": [0.5, 0.25, 0.1], "s": ["x", "y", "x"]}
    )
    planner = make_planner(candidates=pool)
    config = planner.to_config()
    assert config["candidates"]["n_rows"] == 3
    rebuilt = Planner.from_config(json.loads(json.dumps(config)))
    assert rebuilt.to_config() == config
    by_hash = planner.to_config(include_candidates=False)
    with pytest.raises(InvalidConfigError, match="candidates"):
        Planner.from_config(by_hash)
    assert Planner.from_config(by_hash, candidates=pool).to_config() == config
    with pytest.raises(InvalidConfigError, match="sha256"):
        Planner.from_config(by_hash, candidates=pool.iloc[:2])


def test_replay_needs_empty_planner_and_valid_records() -> None:
    planner = make_planner()
    drive(planner)
    with pytest.raises(PlannerStateError):
        planner.replay(planner.history)
    fresh = make_planner()
    with pytest.raises(InvalidConfigError, match="record 0"):
        fresh.replay([{"event": "observe"}])
    assert fresh.history == []

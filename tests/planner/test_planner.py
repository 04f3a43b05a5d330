"""Numerical tests of the planner against known answers."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from smartlab_kernel.planner import (
    Categorical,
    Integer,
    LinearConstraint,
    Objective,
    Planner,
    Real,
    SumConstraint,
)
from tests.planner.conftest import one_d, one_d_planner, run_campaign


def test_finds_1d_optimum_within_budget() -> None:
    planner = one_d_planner(seed=1)
    run_campaign(planner, one_d, budget=14)
    best = planner.best()
    assert best["params"]["x"] == pytest.approx(0.7, abs=0.03)
    assert best["outcomes"]["y"] > 0.95


def branin(params: dict) -> float:
    """Negated Branin; global maximum -0.397887 at (pi, 2.275) and two other points."""
    x1, x2 = params["x1"], params["x2"]
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return -((x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10)


def test_finds_2d_maximiser_with_batches() -> None:
    planner = Planner(
        [Real("x1", -5, 10), Real("x2", 0, 15)], [Objective("y")], seed=0, initial_design=6
    )
    run_campaign(planner, branin, budget=30, batch=2)
    assert planner.best()["outcomes"]["y"] > -0.397887 - 0.6


def test_minimize_finds_the_minimum() -> None:
    planner = Planner([Real("x", -1, 1)], [Objective("cost", "minimize")], seed=0, initial_design=4)
    run_campaign(planner, lambda p: (p["x"] - 0.25) ** 2, budget=10, name="cost")
    assert planner.best()["params"]["x"] == pytest.approx(0.25, abs=0.05)
    mean, std = planner.predict({"x": 0.25})["cost"]
    assert mean == pytest.approx(0.0, abs=0.05) and std >= 0


def test_mixture_constraints_hold_for_every_suggestion() -> None:
    planner = Planner(
        [Real("a", 0, 1), Real("b", 0, 1), Real("c", 0, 1), Real("temp", 20, 80)],
        [Objective("y")],
        constraints=[SumConstraint(["a", "b", "c"], 1.0), LinearConstraint({"a": 1.0}, upper=0.6)],
        seed=3,
        initial_design=4,
    )
    suggested = run_campaign(
        planner, lambda p: p["a"] * p["b"] + 0.5 * p["c"] - 0.001 * p["temp"], budget=16, batch=4
    )
    assert len(suggested) == 16
    for params in suggested:
        assert abs(params["a"] + params["b"] + params["c"] - 1.0) <= 1e-6
        assert params["a"] <= 0.6 + 1e-6
        assert all(0 <= params[k] <= 1 for k in "abc")


def test_integer_and_categorical_values_are_legal() -> None:
    planner = Planner(
        [Real("t", 20, 90), Integer("rpm", 100, 1000), Categorical("base", ["DBU", "MTBD", "TEA"])],
        [Objective("yield")],
        seed=0,
        initial_design=4,
    )
    bonus = {"DBU": 0.0, "MTBD": 10.0, "TEA": 5.0}

    def f(p: dict) -> float:
        return bonus[p["base"]] - ((p["t"] - 60) / 10) ** 2 - ((p["rpm"] - 700) / 200) ** 2

    suggested = run_campaign(planner, f, budget=12, batch=2, name="yield")
    for params in suggested:
        assert isinstance(params["rpm"], int) and 100 <= params["rpm"] <= 1000
        assert params["base"] in ("DBU", "MTBD", "TEA")
        assert isinstance(params["t"], float) and 20 <= params["t"] <= 90
    assert [r for r in planner.history if r["event"] == "suggest"][-1]["model"][
        "kind"
    ] == "SingleTaskGP"


def test_discrete_space_is_enumerated_without_repeats() -> None:
    planner = Planner(
        [Integer("i", 0, 4), Categorical("c", ["a", "b", "c"])], [Objective("y")], seed=0
    )
    suggested = run_campaign(planner, lambda p: p["i"] + (p["c"] == "b"), budget=15, batch=3)
    assert len({(p["i"], p["c"]) for p in suggested}) == 15
    assert planner.suggest(2) == []


def test_suggestion_fields_and_reasons() -> None:
    planner = one_d_planner()
    first = planner.suggest(4)
    assert first[0].reason == "Centre of the space, initial design 1/4"
    assert first[0].params == {"x": 0.5}
    assert [s.reason for s in first[1:]] == [f"Sobol initial design {i}/4" for i in range(2, 5)]
    assert all(s.predicted is None for s in first)
    for s in first:
        planner.observe(s, {"y": one_d(s.params)})
    [s] = planner.suggest()
    assert s.reason.startswith("qLogNEI = ")
    mean, std = s.predicted["y"]
    assert math.isfinite(mean) and std >= 0
    state = s.model_state
    assert state["n_observations"] == 4 and state["kind"] == "SingleTaskGP"
    assert len(state["hyperparameters"]["lengthscale"]) == 1
    json.dumps(planner.history, allow_nan=False)


def test_pending_suggestions_do_not_collide() -> None:
    planner = one_d_planner()
    for s in planner.suggest(4):
        planner.observe(s, {"y": one_d(s.params)})
    a = planner.suggest(2)
    b = planner.suggest(2)
    xs = [s.params["x"] for s in a + b]
    assert min(abs(x - y) for i, x in enumerate(xs) for y in xs[i + 1 :]) > 1e-3
    assert b[0].model_state["n_pending"] == 2
    assert [s.id for s in planner.pending] == [s.id for s in a + b]


def test_observations_best_and_predict_dataframe() -> None:
    planner = one_d_planner()
    [a, b, c, d] = planner.suggest(4)
    planner.observe(a, {"y": 1.0})
    planner.observe({"x": 0.9}, {"y": 2.0})
    planner.observe({"x": 0.25}, {"y": 0.5}, suggestion=b)
    planner.reject(c, reason="no reagent")
    planner.fail(d, reason="clogged line")
    table = planner.observations
    assert list(table.columns) == ["x", "y", "decision", "suggestion_id"]
    assert table["decision"].tolist() == ["accept", "manual", "edit", "fail"]
    assert math.isnan(table["y"].iloc[-1])
    assert planner.best()["params"] == {"x": 0.9}
    frame = planner.predict(pd.DataFrame({"x": [0.0, 0.9, 1.0]}))
    assert list(frame.columns) == ["y_mean", "y_std"] and len(frame) == 3
    assert frame["y_mean"].iloc[1] == pytest.approx(2.0, abs=0.5)

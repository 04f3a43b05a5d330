from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from smartlab_kernel.planner import Objective, Planner, Real


def zdt_like(params: dict) -> dict[str, float]:
    """Both minimised; Pareto front: y = 0, f2 = 1 - sqrt(f1)."""
    x, y = params["x"], params["y"]
    return {"f1": x, "f2": (1 + 4 * y) * (1 - math.sqrt(x / (1 + 4 * y)))}


def test_multi_objective_suggestions_approach_the_pareto_front() -> None:
    planner = Planner(
        [Real("x", 0, 1), Real("y", 0, 1)],
        [Objective("f1", "minimize"), Objective("f2", "minimize")],
        seed=0,
        initial_design=6,
    )
    model_phase: list[dict] = []
    for _ in range(7):
        for s in planner.suggest(2):
            planner.observe(s, zdt_like(s.params))
            if s.predicted is not None:
                model_phase.append(s.params)
                assert set(s.predicted) == {"f1", "f2"}
    assert [r for r in planner.history if r["event"] == "suggest"][-1]["model"][
        "acquisition"
    ] == "qLogNEHVI"
    near = [p for p in model_phase if p["y"] < 0.1]
    assert len(near) >= len(model_phase) // 2
    front = planner.pareto_front()
    assert len(front) >= 3
    for row in front[:3]:
        f1, f2 = row["outcomes"]["f1"], row["outcomes"]["f2"]
        assert f2 - (1 - math.sqrt(f1)) < 0.35
    assert planner.best() == front[0]


@pytest.mark.parametrize(
    "kernel", ["auto", "matern_gamma", "matern_scaled", "per_parameter", "dimension_scaled"]
)
def test_every_kernel_models_several_objectives_of_a_pool(kernel: str) -> None:
    # A pool of reals with two objectives: "auto" picks matern_gamma, whose kernel
    # had no batch shape for the two outputs and made the first model-based
    # suggestion fail in botorch's fit ("shape '[2, 1]' is invalid").
    rng = np.random.default_rng(0)
    pool = pd.DataFrame({"x": rng.uniform(0, 1, 60), "y": rng.uniform(0, 1, 60)})
    planner = Planner(
        [Real("x", 0, 1), Real("y", 0, 1)],
        [Objective("f1", "minimize"), Objective("f2", "minimize")],
        candidates=pool,
        seed=1,
        kernel=kernel,
    )
    for _ in range(4):
        for s in planner.suggest(1):
            planner.observe(s, zdt_like(s.params))
    (suggestion,) = planner.suggest(1)
    state = suggestion.model_state
    assert state["acquisition"] == "qLogNEHVI"
    assert len(state["hyperparameters"]["lengthscale"]) == 4  # 2 inputs x 2 objectives
    assert set(suggestion.predicted or {}) == {"f1", "f2"}

from __future__ import annotations

import math

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

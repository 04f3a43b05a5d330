"""``model_fit``: warm-started outcome-model fits (default) or fits from the priors' modes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from smartlab_kernel.planner import InvalidConfigError, Objective, Planner, Real, Suggestion, engine

POOL = pd.DataFrame(
    {
        "x": np.random.default_rng(1).uniform(0, 1, 40).round(4),
        "z": np.random.default_rng(2).uniform(0, 1, 40).round(4),
    }
)
PARAMS = [Real("x", 0, 1), Real("z", 0, 1)]


def _y(params: dict[str, Any]) -> float:
    return -((float(params["x"]) - 0.3) ** 2) - (float(params["z"]) - 0.6) ** 2


def _run(planner: Planner, steps: int) -> Suggestion:
    for _ in range(steps):
        [s] = planner.suggest(1)
        planner.observe(s, {"y": _y(s.params)})
    return s


@pytest.mark.parametrize("model_fit", ["warm", "scratch"])
def test_model_fit_decides_where_each_fit_starts_and_is_recorded(
    model_fit: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    starts: list[bool] = []
    real_fit = engine.fit_outcome_model

    def spy(X: Any, Y: Any, bounds: Any, warm_start: Any, *rest: Any) -> Any:
        starts.append(warm_start is not None)
        return real_fit(X, Y, bounds, warm_start, *rest)

    monkeypatch.setattr(engine, "fit_outcome_model", spy)
    planner = Planner(PARAMS, [Objective("y")], candidates=POOL, model_fit=model_fit)  # type: ignore[arg-type]
    last = _run(planner, 5)
    assert starts == [False, *([model_fit == "warm"] * 2)]  # 2 design rows, 3 model steps
    assert last.model_state["model_fit"] == model_fit
    assert planner.to_config()["model_fit"] == model_fit
    assert Planner.restore(planner.to_config(), planner.history).model_fit == model_fit


def test_warm_is_the_default_and_old_configs_resume_warm() -> None:
    planner = Planner(PARAMS, [Objective("y")], candidates=POOL)
    assert planner.model_fit == "warm"
    _run(planner, 3)
    old = {k: v for k, v in planner.to_config().items() if k != "model_fit"}
    again = Planner.restore(old, planner.history)
    assert again.model_fit == "warm"
    assert again.suggest(1)[0].params == planner.suggest(1)[0].params


def test_an_unknown_model_fit_is_refused() -> None:
    with pytest.raises(InvalidConfigError, match="model_fit must be one of"):
        Planner(PARAMS, [Objective("y")], model_fit="lazy")  # type: ignore[arg-type]

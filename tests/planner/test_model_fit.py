"""``model_fit``: warm-started outcome-model fits, periodic ones (default) or fits from the priors'
modes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

from smartlab_kernel.planner import InvalidConfigError, Objective, Planner, Real, Suggestion, engine
from smartlab_kernel.planner.model import fit_gp
from smartlab_kernel.planner.settings import REFIT_EVERY_BELOW, refit_due

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


def test_periodic_is_the_default_and_old_configs_resume_warm() -> None:
    planner = Planner(PARAMS, [Objective("y")], candidates=POOL)
    assert planner.model_fit == "periodic"
    _run(planner, 3)
    old = {k: v for k, v in planner.to_config().items() if k != "model_fit"}
    again = Planner.restore(old, planner.history)
    assert again.model_fit == "warm"
    assert again.suggest(1)[0].params == planner.suggest(1)[0].params


def test_an_unknown_model_fit_is_refused() -> None:
    with pytest.raises(InvalidConfigError, match="model_fit must be one of"):
        Planner(PARAMS, [Objective("y")], model_fit="lazy")  # type: ignore[arg-type]


def test_periodic_refits_below_100_observations_and_then_after_a_tenth_more() -> None:
    assert REFIT_EVERY_BELOW == 100
    assert refit_due("periodic", 99, 98)
    assert not refit_due("periodic", 100, 99)
    assert not refit_due("periodic", 108, 99)
    assert refit_due("periodic", 109, 99)  # 99 x 1.1 = 108.9
    assert refit_due("periodic", 110, 100)
    assert refit_due("periodic", 150, None)  # nothing recorded: optimise
    assert refit_due("warm", 300, 299) and refit_due("scratch", 300, 299)


def test_periodic_fits_keep_the_hyperparameters_between_refits_and_say_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(3)
    pool = pd.DataFrame({"x": rng.uniform(0, 1, 300).round(5), "z": rng.uniform(0, 1, 300)})
    planner = Planner(PARAMS, [Objective("y")], candidates=pool, seed=4)
    for row in pool.iloc[:97].to_dict("records"):
        planner.observe(row, {"y": _y(row) + 0.01 * float(rng.normal())})
    optimised: list[bool] = []
    real_fit = engine.fit_outcome_model

    def spy(*args: Any) -> Any:
        optimised.append(args[-1])
        return real_fit(*args)

    monkeypatch.setattr(engine, "fit_outcome_model", spy)
    states = [_run(planner, 1).model_state for _ in range(14)]  # 97 .. 110 observations
    # below 100 every suggestion optimises; from 100 on only at 1.1 x the last (99 -> 109)
    assert optimised == [True] * 3 + [False] * 9 + [True, False]
    assert [s["fitted_at"] for s in states] == [97, 98, 99] + [99] * 9 + [109, 109]
    kept, refitted = states[5], states[12]
    assert kept["raw_state"] == states[2]["raw_state"]  # the same hyperparameters
    assert refitted["raw_state"] != states[2]["raw_state"]
    # a restored campaign knows when the last optimisation was, so it suggests the same
    again = Planner.restore(planner.to_config(), planner.history)
    assert again.suggest(1)[0].params == planner.suggest(1)[0].params
    assert optimised[-2:] == [False, False]


def test_a_fit_says_whether_it_optimised_and_optimises_a_warm_start_that_does_not_fit() -> None:
    X = torch.rand(12, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    Y = (X[:, :1] - 0.3) ** 2
    bounds = torch.tensor([[0.0, 0.0], [1.0, 1.0]], dtype=torch.float64)
    first = fit_gp(X, Y, bounds)
    assert first.optimised
    kept = fit_gp(X, Y, bounds, first.raw_state, optimise=False)
    assert not kept.optimised and kept.raw_state == first.raw_state
    # a warm start missing a hyperparameter cannot be kept as it is: the fit
    # optimises and says so, so the suggestion records a refit (fitted_at) truly
    partial = {k: v for k, v in first.raw_state.items() if "noise" not in k}
    refitted = fit_gp(X, Y, bounds, partial, optimise=False)
    assert refitted.optimised

"""Outcome warping (Yeo-Johnson fitted to observed values) and the default design size."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from smartlab_kernel.planner import Categorical, Objective, Planner, Real
from smartlab_kernel.planner.design import default_design_size
from smartlab_kernel.planner.engine import settings_for
from smartlab_kernel.planner.space import SearchSpace
from smartlab_kernel.planner.warping import MIN_POINTS, fit_warp


def skewed(n: int = 40, seed: int = 0) -> torch.Tensor:
    """Many zeros and a long right tail, like HPLC peak areas."""
    rng = np.random.default_rng(seed)
    y = rng.lognormal(0.0, 1.2, n)
    y[: n // 6] = 0.0
    return torch.tensor(y, dtype=torch.float64).unsqueeze(-1)


def test_skewed_outcomes_are_warped_monotonically_and_invertibly() -> None:
    Y = skewed()
    warp = fit_warp(Y)
    assert warp.active and warp.lambdas[0] is not None and warp.lambdas[0] < 1
    W = warp.forward(Y)
    order = torch.argsort(Y[:, 0])
    assert bool((W[order, 0].diff() >= -1e-12).all())  # monotone: the best stays the best
    assert torch.allclose(warp.inverse(W), Y, atol=1e-8)
    skew_before = float(((Y - Y.mean()) ** 3).mean() / Y.std() ** 3)
    skew_after = float(((W - W.mean()) ** 3).mean() / W.std() ** 3)
    assert abs(skew_after) < abs(skew_before) / 2


def test_minimised_skewed_outcome_is_warped_too() -> None:
    Y = -skewed(seed=1) - 0.01  # signed: larger is better, long tail towards bad values
    warp = fit_warp(Y)
    assert warp.active and warp.lambdas[0] is not None and warp.lambdas[0] > 1


def test_symmetric_few_and_several_outcomes_are_not_warped() -> None:
    rng = np.random.default_rng(3)
    symmetric = torch.tensor(rng.normal(size=(200, 1)))
    assert not fit_warp(symmetric).active
    assert not fit_warp(skewed(MIN_POINTS - 1)).active
    assert not fit_warp(torch.cat([skewed(), skewed(seed=2)], dim=-1)).active
    assert not fit_warp(skewed(), enabled=False).active
    assert not fit_warp(torch.ones(10, 1)).active  # constant: nothing to fit


def test_inverse_mean_std_is_on_outcome_scale() -> None:
    Y = skewed()
    warp = fit_warp(Y)
    W = warp.forward(Y)
    mean, std = warp.inverse_mean_std(W[:3], torch.full_like(W[:3], 1e-6))
    assert torch.allclose(mean, Y[:3], atol=1e-6)
    assert bool((std >= 0).all()) and float(std.max()) < 1e-3


def test_planner_records_warping_and_predicts_in_outcome_units() -> None:
    planner = Planner(
        [Real("x", 0, 1)], [Objective("area")], seed=0, initial_design=5, outcome_warping=True
    )
    for x in np.linspace(0, 1, 12):
        area = 0.0 if x < 0.3 else math.exp(4 * x)  # zeros then exponential growth
        planner.observe({"x": float(x)}, {"area": area})
    [s] = planner.suggest(1)
    assert s.model_state["outcome_warping"]["kind"] == "yeo-johnson"
    mean, std = s.predicted["area"]
    assert 0 <= mean < 10 * math.exp(4) and std >= 0
    prediction = planner.predict({"x": 0.9})["area"]
    assert prediction[0] == pytest.approx(math.exp(3.6), rel=0.5)


def test_warping_is_off_by_default_and_persisted() -> None:
    planner = Planner([Real("x", 0, 1)], [Objective("y")], seed=0, initial_design=5)
    for x in np.linspace(0, 1, 8):
        planner.observe({"x": float(x)}, {"y": float(math.exp(5 * x))})
    [s] = planner.suggest(1)
    assert s.model_state["outcome_warping"]["kind"] == "none"
    assert planner.to_config()["outcome_warping"] is False
    assert Planner.from_config(planner.to_config()).outcome_warping is False
    warped = Planner([Real("x", 0, 1)], [Objective("y")], outcome_warping=True)
    assert Planner.from_config(warped.to_config()).outcome_warping is True


def test_default_design_size() -> None:
    def size(k: int) -> int:
        return default_design_size(SearchSpace([Real(f"x{i}", 0, 1) for i in range(k)]))

    assert [size(k) for k in (1, 4, 6, 7, 10, 20, 40)] == [5, 5, 5, 5, 7, 12, 16]
    mixed = SearchSpace([Real("x", 0, 1), Categorical("c", ["a", "b", "c"])])
    assert default_design_size(mixed) == 5
    levels = [3, 22, 3, 4]  # four categoricals, 32 one-hot columns (like buchwald_a)
    grid = SearchSpace(
        [Categorical(f"c{i}", [f"v{j}" for j in range(n)]) for i, n in enumerate(levels)]
    )
    assert default_design_size(grid) == 8


def test_single_point_suggestions_search_harder_than_batches() -> None:
    one, four = settings_for(20, 1), settings_for(20, 4)
    assert one.num_restarts > four.num_restarts and one.raw_samples >= four.raw_samples
    assert settings_for(300, 1).raw_samples < one.raw_samples

"""The outcome model's covariance: chosen by the space, recorded, restorable."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from gpytorch.kernels import MaternKernel, ScaleKernel

from smartlab_kernel.planner import Categorical, InvalidConfigError, Objective, Planner, Real
from smartlab_kernel.planner.model import fit_gp, make_kernel


def _pool(n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"x": rng.uniform(0, 1, n), "y": rng.uniform(0, 1, n)})


def test_auto_picks_matern_gamma_for_a_pool_of_reals_only() -> None:
    reals = [Real("x", 0, 1), Real("y", 0, 1)]
    objective = [Objective("f", "maximize")]
    assert Planner(reals, objective, candidates=_pool()).kernel == "matern_gamma"
    assert Planner(reals, objective).kernel == "dimension_scaled"  # the continuous box
    mixed = [Real("x", 0, 1), Categorical("c", ["a", "b"])]
    rows = pd.DataFrame({"x": [0.1, 0.5, 0.9], "c": ["a", "b", "a"]})
    assert Planner(mixed, objective, candidates=rows).kernel == "dimension_scaled"
    assert Planner(reals, objective, kernel="matern_gamma").kernel == "matern_gamma"


def test_a_bad_kernel_names_the_choices() -> None:
    with pytest.raises(InvalidConfigError, match=r"kernel must be 'auto' or one of .*got 'rbf'"):
        Planner([Real("x", 0, 1)], [Objective("f", "maximize")], kernel="rbf")
    with pytest.raises(ValueError, match="kernel must be one of"):
        make_kernel("rbf", 2)  # type: ignore[arg-type]


def test_the_kernel_is_recorded_and_restored() -> None:
    planner = Planner(
        [Real("x", 0, 1), Real("y", 0, 1)],
        [Objective("f", "maximize")],
        candidates=_pool(),
        seed=1,
        initial_design=3,
    )
    for s in planner.suggest(3):
        planner.observe(s, {"f": float(s.params["x"]) - float(s.params["y"])})
    (model_suggestion,) = planner.suggest(1)
    assert model_suggestion.model_state["kernel"] == "matern_gamma"
    config = planner.to_config()
    assert config["kernel"] == "matern_gamma"
    again = Planner.restore(config, planner.history)
    assert again.kernel == "matern_gamma"
    old = {k: v for k, v in config.items() if k != "kernel"}  # written before kernels were recorded
    assert Planner.restore(old, planner.history).kernel == "dimension_scaled"


def test_matern_gamma_fits_a_known_short_lengthscale_function() -> None:
    # f(x) = sin(12 x): a lengthscale near 0.1 of the unit interval; the Gamma(3, 6)
    # prior lets the fit find it from 12 points and predict between them.
    X = torch.linspace(0, 1, 12, dtype=torch.float64).unsqueeze(-1)
    Y = torch.sin(12 * X)
    bounds = torch.tensor([[0.0], [1.0]], dtype=torch.float64)
    fitted = fit_gp(X, Y, bounds, kernel="matern_gamma")
    assert isinstance(fitted.model.covar_module, ScaleKernel)
    assert isinstance(fitted.model.covar_module.base_kernel, MaternKernel)
    test = torch.tensor([[0.21], [0.55], [0.83]], dtype=torch.float64)
    mean = fitted.model.posterior(test).mean.detach()
    assert torch.allclose(mean, torch.sin(12 * test), atol=0.15)


def test_matern_scaled_is_baybes_kernel_with_a_prior_scaled_to_the_inputs() -> None:
    # Matern-5/2, no output scale, Gamma(3, .) lengthscale prior whose mode is
    # exp(sqrt(2) - 3) * sqrt(d): twice the inputs, sqrt(2) times the mode
    small, large = make_kernel("matern_scaled", 4), make_kernel("matern_scaled", 16)
    assert isinstance(small, MaternKernel) and small.nu == 2.5
    modes = []
    for kernel, d in ((small, 4), (large, 16)):
        assert isinstance(kernel, MaternKernel)
        prior = kernel.lengthscale_prior
        modes.append(float((prior.concentration - 1) / prior.rate))
        start = torch.full((1, d), modes[-1], dtype=kernel.lengthscale.dtype)
        assert torch.allclose(kernel.lengthscale, start)
    assert modes[0] == pytest.approx(np.exp(np.sqrt(2) - 3) * 2)
    assert modes[1] == pytest.approx(2 * modes[0])


def test_matern_scaled_is_accepted_recorded_and_restored() -> None:
    planner = Planner(
        [Real("x", 0, 1), Real("y", 0, 1)],
        [Objective("f", "maximize")],
        candidates=_pool(),
        seed=1,
        kernel="matern_scaled",
    )
    for s in planner.suggest(2):
        planner.observe(s, {"f": float(s.params["x"]) - float(s.params["y"])})
    (model_suggestion,) = planner.suggest(1)
    assert model_suggestion.model_state["kernel"] == "matern_scaled"
    assert model_suggestion.model_state["hyperparameters"]["kernel"] == "MaternKernel"
    assert "outputscale" not in model_suggestion.model_state["hyperparameters"]
    assert Planner.restore(planner.to_config(), planner.history).kernel == "matern_scaled"

"""The outcome model's covariance: chosen by the space, recorded, restorable."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from botorch.models.utils.gpytorch_modules import get_covar_module_with_dim_scaled_prior
from gpytorch.kernels import MaternKernel, RBFKernel, ScaleKernel

from smartlab_kernel.planner import Categorical, InvalidConfigError, Objective, Planner, Real
from smartlab_kernel.planner.kernels import ParameterRBFKernel
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


def test_per_parameter_ties_the_columns_of_each_parameter_to_one_lengthscale() -> None:
    # the same covariance as an RBF whose per-column lengthscales repeat the
    # parameter's, with one lengthscale per parameter to learn
    kernel = make_kernel("per_parameter", 5, groups=[0, 0, 0, 1, 2])
    assert isinstance(kernel, ParameterRBFKernel)
    kernel = kernel.double()
    kernel.lengthscale = torch.tensor([[0.3, 0.7, 1.9]], dtype=torch.float64)
    assert kernel.lengthscale.shape == (1, 3)
    reference = RBFKernel(ard_num_dims=5).double()
    reference.lengthscale = torch.tensor([[0.3, 0.3, 0.3, 0.7, 1.9]], dtype=torch.float64)
    X = torch.rand(7, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(kernel(X).to_dense(), reference(X).to_dense())
    # its prior is BoTorch's dimension-scaled one over the five columns
    default = get_covar_module_with_dim_scaled_prior(ard_num_dims=5)
    assert float(kernel.lengthscale_prior.loc) == pytest.approx(
        float(default.lengthscale_prior.loc)
    )
    with pytest.raises(ValueError, match=r"every index 0 \.\. k - 1"):
        ParameterRBFKernel([0, 2])


def test_a_one_hot_categorical_gets_one_lengthscale_recorded_and_restored() -> None:
    levels = [f"L{i}" for i in range(6)]
    space = [Real("x", 0, 1), Categorical("c", levels), Categorical("d", ["p", "q", "r"])]
    effect = {level: i / 5 for i, level in enumerate(levels)}
    rows = pd.DataFrame(
        [{"x": x, "c": c, "d": d} for x in (0.1, 0.5, 0.9) for c in levels for d in "pqr"]
    )
    planner = Planner(space, [Objective("f")], candidates=rows, seed=3, kernel="per_parameter")
    for s in planner.suggest(6):
        p = s.params
        planner.observe(s, {"f": effect[str(p["c"])] - (float(p["x"]) - 0.5) ** 2})
    (suggestion,) = planner.suggest(1)
    hyper = suggestion.model_state["hyperparameters"]
    assert suggestion.model_state["kernel"] == "per_parameter"
    assert hyper["kernel"] == "ParameterRBFKernel"
    assert len(hyper["lengthscale"]) == 3  # x, c (6 columns) and d (3 columns)
    again = Planner.restore(planner.to_config(), planner.history)
    assert again.kernel == "per_parameter"
    (after,) = again.suggest(1)
    assert after.model_state["hyperparameters"]["kernel"] == "ParameterRBFKernel"


def test_per_parameter_learns_lengthscales_for_each_objective() -> None:
    space = [Real("x", 0, 1), Categorical("c", ["a", "b", "c"])]
    # a pool: scored exactly, so the test does not time a mixed-space search
    rows = pd.DataFrame([{"x": x / 10, "c": c} for x in range(11) for c in "abc"])
    planner = Planner(
        space,
        [Objective("f"), Objective("g", "minimize")],
        candidates=rows,
        seed=2,
        kernel="per_parameter",
        initial_design=4,
    )
    for s in planner.suggest(4):
        x, c = float(s.params["x"]), "abc".index(str(s.params["c"]))
        planner.observe(s, {"f": x + c, "g": (x - 0.3) ** 2 + c})
    (suggestion,) = planner.suggest(1)
    lengthscale = suggestion.model_state["hyperparameters"]["lengthscale"]
    assert len(lengthscale) == 4  # two parameters x two objectives
    assert suggestion.model_state["acquisition"].startswith("qLogNEHVI")

"""Acquisition optimisation over continuous, mixed, constrained or finite spaces.

* finite sets (pool rows or the grid of a fully discrete space):
  exhaustive evaluation with sequential greedy batches (``optimize_acqf_discrete``);
* no categoricals: L-BFGS-B / SLSQP over the box and linear constraints
  (``optimize_acqf``), integers relaxed then rounded;
* categoricals and reals: the continuous parameters are optimised for each
  of the most promising category combinations (``optimize_acqf_mixed``).
"""

from __future__ import annotations

import warnings

import torch
from botorch.acquisition import AcquisitionFunction
from botorch.optim import optimize_acqf, optimize_acqf_discrete
from torch import Tensor

from smartlab_kernel.planner.mixed import (
    optimize_mixed,
    optimize_mixed_batched,
    optimize_mixed_joint,
)
from smartlab_kernel.planner.repair import feasible_initial_conditions, snap
from smartlab_kernel.planner.settings import OptimizerSettings
from smartlab_kernel.planner.space import SearchSpace


def optimize(
    acquisition: AcquisitionFunction,
    space: SearchSpace,
    q: int,
    settings: OptimizerSettings,
    choices: Tensor | None = None,
) -> tuple[Tensor, float, list[str]]:
    """Choose ``q`` points maximising the acquisition.

    Args:
        acquisition: The acquisition function (pending points already set).
        space: The search space.
        q: Batch size.
        settings: Optimiser effort.
        choices: A ``k x d`` tensor of allowed points (pool or grid), or ``None``.

    Returns:
        A ``q x d`` tensor of encoded points, the acquisition value of the batch
        and the messages of optimiser warnings (kept for provenance, not raised).
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        X, value = _optimize(acquisition, space, q, settings, choices)
    messages = sorted({f"{w.category.__name__}: {w.message}"[:200] for w in caught})
    return X, value, messages


def _optimize(
    acquisition: AcquisitionFunction,
    space: SearchSpace,
    q: int,
    settings: OptimizerSettings,
    choices: Tensor | None,
) -> tuple[Tensor, float]:
    if choices is not None:
        X, values = optimize_acqf_discrete(acquisition, q=q, choices=choices, unique=True)
        with torch.no_grad():
            joint = float(acquisition(X.unsqueeze(0)).item())
            return X, joint if q > 1 else float(values.reshape(-1)[0])
    inequality, equality = space.botorch_constraints()
    kwargs = {
        "bounds": space.bounds,
        "q": q,
        "num_restarts": settings.num_restarts,
        "raw_samples": settings.raw_samples,
        "options": {"maxiter": settings.maxiter, "batch_limit": 64},
        "inequality_constraints": inequality or None,
        "equality_constraints": equality or None,
        "retry_on_optimization_warning": False,
        "timeout_sec": settings.timeout_sec,
    }
    if not space.categoricals:
        if space.constraints:
            start = feasible_initial_conditions(acquisition, space, q, settings)
            kwargs["batch_initial_conditions"] = start
        X, _ = optimize_acqf(acquisition, **kwargs)  # type: ignore[arg-type]
    elif settings.mixed_search == "joint":
        X = optimize_mixed_joint(acquisition, space, q, settings, kwargs)
    elif settings.mixed_search in ("batched", "batched_early_stop"):
        X = optimize_mixed_batched(acquisition, space, q, settings, kwargs)
    else:
        X = optimize_mixed(acquisition, space, q, settings, kwargs)
    X = snap(space, X.detach())
    with torch.no_grad():
        value = float(acquisition(X.unsqueeze(0)).item())
    return X, value


__all__ = ["OptimizerSettings", "optimize"]

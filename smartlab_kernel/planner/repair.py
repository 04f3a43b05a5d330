"""Keeping points legal: rounding, clipping, constraint repair and feasible starting points."""

from __future__ import annotations

import torch
from botorch.acquisition import AcquisitionFunction
from botorch.optim.initializers import initialize_q_batch
from torch import Tensor

from smartlab_kernel.planner.settings import OptimizerSettings
from smartlab_kernel.planner.space import DTYPE, SearchSpace


def snap(space: SearchSpace, X: Tensor) -> Tensor:
    """Round integers, clip to bounds and repair tiny constraint violations.

    Args:
        space: The search space.
        X: A ``q x d`` tensor.

    Returns:
        A ``q x d`` tensor whose points decode to legal parameters.
    """
    X = torch.maximum(torch.minimum(X.clone(), space.bounds[1]), space.bounds[0])
    for column in space.integer_columns:
        X[..., column] = X[..., column].round()
    return repair_constraints(space, X)


def repair_constraints(space: SearchSpace, X: Tensor, sweeps: int = 5) -> Tensor:
    """Move points onto violated linear constraints, spreading the change over free columns.

    Args:
        space: The search space (its constraints and bounds).
        X: A ``n x d`` tensor, modified in place.
        sweeps: Passes over all constraints.

    Returns:
        ``X``.
    """
    lows, highs = space.bounds
    for _ in range(sweeps):
        for constraint in space.constraints:
            cols = torch.tensor([space.columns[n][0] for n in constraint.coefficients])
            coef = torch.tensor(list(constraint.coefficients.values()), dtype=DTYPE)
            values = X[:, cols]
            total = values @ coef
            low = -torch.inf if constraint.lower is None else constraint.lower
            high = torch.inf if constraint.upper is None else constraint.upper
            delta = total.clamp(low, high) - total
            up = delta.unsqueeze(-1) * coef > 0
            free = torch.where(up, values < highs[cols], values > lows[cols]).to(DTYPE)
            direction = coef * free
            norm = direction @ coef
            step = torch.where(norm > 0, delta / norm.clamp_min(1e-300), torch.zeros_like(delta))
            moved = values + step.unsqueeze(-1) * direction
            X[:, cols] = torch.maximum(torch.minimum(moved, highs[cols]), lows[cols])
    return X


def feasible_initial_conditions(
    acquisition: AcquisitionFunction,
    space: SearchSpace,
    q: int,
    settings: OptimizerSettings,
    fixed: dict[int, float] | None = None,
) -> Tensor:
    """Starting points for constrained optimisation, cheaper than hit-and-run sampling.

    Uniform box samples are repaired onto the constraints, scored, and
    ``num_restarts`` of them chosen by Boltzmann sampling on the acquisition value.

    Args:
        acquisition: Scores the candidate starts.
        space: The search space.
        q: Batch size.
        settings: ``raw_samples`` candidates, ``num_restarts`` starts.
        fixed: Columns held at fixed values (e.g. a category's one-hot code).

    Returns:
        A ``num_restarts x q x d`` tensor of feasible points.
    """
    lows, highs = space.bounds
    X = lows + torch.rand(settings.raw_samples * q, space.dim, dtype=DTYPE) * (highs - lows)
    for column, value in (fixed or {}).items():
        X[:, column] = value
    X = repair_constraints(space, X).reshape(settings.raw_samples, q, space.dim)
    with torch.no_grad():
        values = acquisition(X)
    return initialize_q_batch(X, values, n=settings.num_restarts)[0]


__all__ = ["feasible_initial_conditions", "repair_constraints", "snap"]

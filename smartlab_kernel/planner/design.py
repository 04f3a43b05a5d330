"""Initial design: the centre of the space, then scrambled Sobol points.

Under linear constraints the Sobol points are replaced by samples of the
feasible polytope, and the centre by the polytope's centroid.
"""

from __future__ import annotations

import math

import torch
from botorch.utils.sampling import get_polytope_samples
from torch import Tensor
from torch.quasirandom import SobolEngine

from smartlab_kernel.planner.parameters import Choice
from smartlab_kernel.planner.space import DTYPE, SearchSpace

#: Initial design of a candidate pool whose design rows are drawn at random
#: (``pool_design="sample"``): two rows, the fewest a model is fitted on.
POOL_DESIGN = 2


def default_design_size(space: SearchSpace, sampled_pool: bool = False) -> int:
    """``max(5, k // 2 + 2, ceil(d / 4))`` capped at 16, or :data:`POOL_DESIGN`.

    ``k`` is the number of parameters and ``d`` the number of encoded model
    inputs (one column per real or integer, one per category of a
    categorical). Five points for up to seven real parameters, like Ax's five
    initialisation trials: a space-filling point is rarely a good experiment,
    so the model takes over early. One-hot categoricals give the GP many more
    inputs than parameters, and it needs a few more spread-out points before its
    lengthscales mean anything, hence the ``d / 4`` term (eight points for four
    categoricals with 32 categories in all).

    A pool with ``pool_design="sample"`` starts from two random rows (since
    2026-12-05): in pool mode every remaining row is scored exactly, and a
    random row has about a 1 % chance of being a top row, so each design row
    past the two a model needs is mostly a lost experiment (BayBE starts from
    one). On the four single-objective benchmark pools, two rows instead of
    five (eight on buchwald_a) lowered the median number of experiments to the
    first top-1 % row on all four and won 46 of 80 seeds, losing 28; the mean
    fell on three and stayed level on buchwald_a (``docs/planner/ablations.md``).

    Args:
        space: The search space.
        sampled_pool: The design draws rows of a candidate pool at random
            (``pool_design="sample"``, or ``"maxmin"``, whose first row is random).
    """
    if sampled_pool:
        return POOL_DESIGN
    k = len(space.parameters)
    return min(16, max(5, k // 2 + 2, math.ceil(space.dim / 4)))


def center_point(space: SearchSpace) -> dict[str, Choice]:
    """The middle of every range; under linear constraints, the centroid of the feasible region.

    The centroid is the mean of seeded samples of the feasible polytope
    (convex, so the mean is feasible too). Integers take the middle value.

    Raises:
        ValueError: If the space has categorical parameters (no middle category).
    """
    if space.categoricals:
        names = [p.name for p in space.categoricals]
        raise ValueError(f"a centre point needs numeric parameters only; categorical: {names}")
    [row] = space.from_unit(torch.full((1, len(space.parameters)), 0.5, dtype=DTYPE))
    if space.constraints:
        _set_reals(space, [row], _polytope_samples(space, 256, seed=0).mean(dim=0, keepdim=True))
    return row


def initial_design(
    space: SearchSpace, seed: int, start: int, n: int, center: bool = False
) -> list[dict[str, Choice]]:
    """Points ``start .. start + n - 1`` of the seeded initial design.

    With ``center``, point 0 is :func:`center_point` and point ``i`` is Sobol
    point ``i - 1``; otherwise point ``i`` is Sobol point ``i``. The sequence
    depends only on ``seed``, so point ``i`` is the same whatever the batch
    sizes were, which keeps resumed campaigns reproducible.

    Args:
        space: The search space.
        seed: Seed of the scrambled Sobol sequence.
        start: Index of the first point.
        n: Number of points.
        center: Begin the design with the centre of the space.
    """
    if n <= 0:
        return []
    offset = 1 if center else 0
    first = max(start - offset, 0)
    rows = _sobol_rows(space, seed, first, start + n - offset - first)
    if center and start == 0:
        rows = [center_point(space), *rows]
    return rows


def _sobol_rows(space: SearchSpace, seed: int, start: int, n: int) -> list[dict[str, Choice]]:
    """Sobol points ``start .. start + n - 1`` (reals from the polytope under constraints)."""
    if n <= 0:
        return []
    sobol = SobolEngine(len(space.parameters), scramble=True, seed=seed)
    U = sobol.draw(start + n, dtype=DTYPE)[start:]
    rows = space.from_unit(U)
    if space.constraints:
        _set_reals(space, rows, _polytope_samples(space, start + n, seed)[start:])
    return rows


def _polytope_samples(space: SearchSpace, n: int, seed: int) -> Tensor:
    """``n`` seeded hit-and-run samples of the feasible polytope (encoded, ``n x d``)."""
    inequality, equality = space.botorch_constraints()
    return get_polytope_samples(
        n=n,
        bounds=space.bounds,
        inequality_constraints=inequality or None,
        equality_constraints=equality or None,
        seed=seed,
        n_burnin=2000,
        n_thinning=8,
    )


def _set_reals(space: SearchSpace, rows: list[dict[str, Choice]], samples: Tensor) -> None:
    """Overwrite the real parameters of ``rows`` with those of the encoded ``samples``."""
    for row, sample in zip(rows, space.decode(samples), strict=True):
        for name in space.real_names:
            row[name] = sample[name]


def nearest_unused(points: Tensor, choices: Tensor, available: Tensor, bounds: Tensor) -> list[int]:
    """For each point, the index of the nearest still-available choice (greedy).

    Args:
        points: A ``n x d`` tensor of encoded design points.
        choices: A ``k x d`` tensor of encoded allowed points.
        available: A ``k`` boolean tensor; chosen indices are not reused.
        bounds: A ``2 x d`` tensor used to scale columns to the unit cube.
    """
    scale = (bounds[1] - bounds[0]).clamp_min(1e-12)
    distances = torch.cdist((points - bounds[0]) / scale, (choices - bounds[0]) / scale)
    free = available.clone()
    picks: list[int] = []
    for row in distances:
        if not bool(free.any()):
            break
        index = int(torch.where(free, row, torch.full_like(row, torch.inf)).argmin())
        picks.append(index)
        free[index] = False
    return picks


__all__ = ["center_point", "default_design_size", "initial_design", "nearest_unused"]

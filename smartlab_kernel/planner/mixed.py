"""Mixed spaces: reals and integers optimised for each promising category combination."""

from __future__ import annotations

import itertools
import math

import torch
from botorch.acquisition import AcquisitionFunction
from botorch.optim import optimize_acqf
from torch import Tensor

from smartlab_kernel.planner.repair import feasible_initial_conditions, snap
from smartlab_kernel.planner.settings import OptimizerSettings
from smartlab_kernel.planner.space import DTYPE, SearchSpace


def optimize_mixed(
    acquisition: AcquisitionFunction,
    space: SearchSpace,
    q: int,
    settings: OptimizerSettings,
    kwargs: dict[str, object],
) -> Tensor:
    """Sequential greedy batch: each point is the best over promising category combinations.

    Returns:
        A ``q x d`` tensor.
    """
    combos = promising_combinations(acquisition, space, settings)
    light = OptimizerSettings(
        num_restarts=max(2, settings.num_restarts // 4),
        raw_samples=max(32, settings.raw_samples // 4),
        maxiter=settings.maxiter,
    )
    base_pending = acquisition.X_pending
    chosen: list[Tensor] = []
    for _ in range(q):
        best: tuple[float, Tensor] | None = None
        for fixed in combos:
            options = dict(kwargs, q=1, num_restarts=light.num_restarts)
            options["raw_samples"] = light.raw_samples
            if space.constraints:
                start = feasible_initial_conditions(acquisition, space, 1, light, fixed)
                options["batch_initial_conditions"] = start
            X, value = optimize_acqf(acquisition, fixed_features=fixed, **options)  # type: ignore[arg-type]
            score = -math.inf if value is None else float(value.max())
            if best is None or score > best[0]:
                best = (score, X.detach())
        assert best is not None
        chosen.append(best[1])
        pending = torch.cat([p for p in (base_pending, *chosen) if p is not None])
        acquisition.set_X_pending(pending)
    acquisition.set_X_pending(base_pending)
    return torch.cat(chosen)


def promising_combinations(
    acquisition: AcquisitionFunction, space: SearchSpace, settings: OptimizerSettings
) -> list[dict[int, float]]:
    """Category combinations to optimise: all of them, or the best-scoring few.

    Returns:
        Fixed features (each choice's code) for each chosen combination.
    """
    categoricals = space.categoricals
    combos = list(itertools.product(*[range(len(c.choices)) for c in categoricals]))

    def fixed(combo: tuple[int, ...]) -> dict[int, float]:
        features: dict[int, float] = {}
        for parameter, k in zip(categoricals, combo, strict=True):
            code = parameter.code(k)
            for j, column in enumerate(space.columns[parameter.name]):
                features[column] = code[j]
        return features

    if len(combos) <= settings.max_combinations:
        return [fixed(c) for c in combos]
    lows, highs = space.bounds
    U = torch.rand(settings.raw_samples * 4, space.dim, dtype=DTYPE)
    X = lows + U * (highs - lows)
    picks = [tuple(int(torch.randint(len(c.choices), (1,))) for c in categoricals) for _ in X]
    for x, combo in zip(X, picks, strict=True):
        for column, value in fixed(combo).items():
            x[column] = value
    X = snap(space, X)
    with torch.no_grad():
        values = acquisition(X.unsqueeze(-2))
    best: list[tuple[int, ...]] = []
    for index in values.argsort(descending=True).tolist():
        if picks[index] not in best:
            best.append(picks[index])
        if len(best) == settings.max_combinations:
            break
    return [fixed(c) for c in best]


__all__ = ["optimize_mixed", "promising_combinations"]

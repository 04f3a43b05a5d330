"""Effort settings of the acquisition function and its optimiser."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

#: How hard a planner searches the acquisition function; see
#: :func:`~smartlab_kernel.planner.engine.settings_for`.
SearchEffort = Literal["thorough", "thorough_128", "quick"]
#: The allowed values of :data:`SearchEffort`.
SEARCH_EFFORTS: tuple[str, ...] = get_args(SearchEffort)

#: How the initial design picks rows of a candidate pool: ``"sobol"`` takes
#: the unused row nearest each Sobol point; ``"sample"`` draws unused rows at
#: random (seeded), so the design follows where the pool's rows are.
PoolDesign = Literal["sobol", "sample"]
#: The allowed values of :data:`PoolDesign`.
POOL_DESIGNS: tuple[str, ...] = get_args(PoolDesign)


@dataclass(frozen=True)
class OptimizerSettings:
    """Effort of the acquisition function and its optimiser.

    Attributes:
        mc_samples: Quasi-Monte-Carlo samples of a single-objective acquisition.
        num_restarts: Multi-start count for gradient optimisation.
        raw_samples: Random points scored to choose the starts.
        maxiter: Maximum optimiser iterations per start.
        max_combinations: Category combinations optimised in mixed spaces.
        timeout_sec: Wall-time cap of the gradient optimisation (``None``: no cap).
    """

    mc_samples: int = 128
    num_restarts: int = 8
    raw_samples: int = 256
    maxiter: int = 100
    max_combinations: int = 12
    timeout_sec: float | None = None


__all__ = ["POOL_DESIGNS", "SEARCH_EFFORTS", "OptimizerSettings", "PoolDesign", "SearchEffort"]

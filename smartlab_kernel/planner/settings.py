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
#: random (seeded), so the design follows where the pool's rows are;
#: ``"maxmin"`` draws the first row at random (the same row as ``"sample"``)
#: and then takes, each time, the unused row farthest from every row already
#: started (greedy max-min distance in the model's input space: reals scaled
#: to the unit cube by the space's bounds, one-hot categoricals).
PoolDesign = Literal["sobol", "sample", "maxmin"]
#: The allowed values of :data:`PoolDesign`.
POOL_DESIGNS: tuple[str, ...] = get_args(PoolDesign)

#: How the outcome model's hyperparameters are fitted before each suggestion:
#: ``"warm"`` starts from the previous fit's values (75 L-BFGS-B steps at
#: most); ``"scratch"`` starts from the priors' modes every time (200 steps at
#: most), as BayBE does; ``"periodic"`` is ``"warm"`` below
#: :data:`REFIT_EVERY_BELOW` observations, and above it re-optimises only when
#: the observations have grown by :data:`REFIT_GROWTH_PERCENT` since the last
#: optimisation, in between conditioning the GP on every observation with the
#: last hyperparameters (a suggestion at 300 observations then costs the
#: search, not the fit).
ModelFit = Literal["warm", "scratch", "periodic"]
#: The allowed values of :data:`ModelFit`.
MODEL_FITS: tuple[str, ...] = get_args(ModelFit)
#: ``"periodic"`` fits: below this many observations, every suggestion re-optimises.
REFIT_EVERY_BELOW = 100
#: ``"periodic"`` fits: re-optimise once the observations have grown by this
#: many percent since the last optimisation (integer arithmetic: 110 is 10 %
#: more than 100, which ``100 * 1.1`` in floating point is not).
REFIT_GROWTH_PERCENT = 10


def refit_due(model_fit: ModelFit, n: int, fitted_at: int | None) -> bool:
    """Whether the hyperparameters are re-optimised for a model of ``n`` observations.

    Args:
        model_fit: The planner's :data:`ModelFit`.
        n: Observations of the model about to be fitted.
        fitted_at: Observations at the last optimisation (``None``: none recorded).
    """
    if model_fit != "periodic" or fitted_at is None:
        return True
    return n < REFIT_EVERY_BELOW or 100 * n >= (100 + REFIT_GROWTH_PERCENT) * fitted_at


#: How a campaign with ``history`` (earlier campaigns) starts: ``"best"``
#: makes each earlier campaign's best row, as a point of this space, the
#: first initial-design points (in pool mode the unused row nearest to it),
#: then the usual design; ``"design"`` uses the usual design only (the start
#: before 2026-12-05). Without history both are the same.
TransferStart = Literal["best", "design"]
#: The allowed values of :data:`TransferStart`.
TRANSFER_STARTS: tuple[str, ...] = get_args(TransferStart)

#: How a space with categorical and continuous parameters is searched:
#: ``"joint"`` optimises a batch of several points jointly (one L-BFGS-B run
#: over every point's continuous columns, from starts built greedily), and one
#: point as ``"batched_early_stop"`` does; ``"batched"`` optimises each batch
#: point in turn, the starts of every promising category combination in one
#: L-BFGS-B run; ``"batched_early_stop"`` is the same search whose
#: L-BFGS-B runs stop once an iteration improves the log-acquisition by less
#: than :data:`EARLY_STOP_FTOL` times its magnitude, or times 1 below 1
#: (scipy's ``ftol``; its default, 2.2e-9, spent about 30 % of a run's time
#: on changes that no suggestion shows); ``"per_combination"`` runs the optimiser once per
#: combination (the search before 2026-12-05); see
#: :mod:`~smartlab_kernel.planner.mixed`.
MixedSearch = Literal["joint", "batched_early_stop", "batched", "per_combination"]
#: The allowed values of :data:`MixedSearch`.
MIXED_SEARCHES: tuple[str, ...] = get_args(MixedSearch)
#: ``"joint"`` and ``"batched_early_stop"``: the relative improvement below which L-BFGS-B stops.
EARLY_STOP_FTOL = 1e-4


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
        mixed_search: How mixed spaces are searched (see :data:`MixedSearch`).
    """

    mc_samples: int = 128
    num_restarts: int = 8
    raw_samples: int = 256
    maxiter: int = 100
    max_combinations: int = 12
    timeout_sec: float | None = None
    mixed_search: MixedSearch = "batched"

    @property
    def ftol(self) -> float | None:
        """L-BFGS-B's relative-improvement stop of the mixed search (``None``: scipy's default)."""
        return EARLY_STOP_FTOL if self.mixed_search in ("joint", "batched_early_stop") else None


__all__ = [
    "EARLY_STOP_FTOL",
    "MIXED_SEARCHES",
    "MODEL_FITS",
    "POOL_DESIGNS",
    "REFIT_EVERY_BELOW",
    "REFIT_GROWTH_PERCENT",
    "SEARCH_EFFORTS",
    "TRANSFER_STARTS",
    "MixedSearch",
    "ModelFit",
    "OptimizerSettings",
    "PoolDesign",
    "SearchEffort",
    "TransferStart",
    "refit_due",
]

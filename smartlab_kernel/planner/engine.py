"""Computing a batch of suggestions from a snapshot of the campaign.

The engine is pure given its inputs (seeded), so the same configuration and
history always give the same suggestions.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import Tensor

from smartlab_kernel.planner.acquisition import build_acquisition
from smartlab_kernel.planner.design import initial_design, nearest_unused
from smartlab_kernel.planner.model import (
    FittedModel,
    KernelChoice,
    RawState,
    fit_gp,
    fit_multitask,
    posterior_mean_std,
    recorded_warnings,
)
from smartlab_kernel.planner.objectives import Objective
from smartlab_kernel.planner.optimize import OptimizerSettings, optimize
from smartlab_kernel.planner.parameters import Choice
from smartlab_kernel.planner.settings import (
    MixedSearch,
    ModelFit,
    PoolDesign,
    SearchEffort,
    TransferStart,
    refit_due,
)
from smartlab_kernel.planner.space import DTYPE, SearchSpace
from smartlab_kernel.planner.threads import threads_for, torch_threads
from smartlab_kernel.planner.transfer import History, best_rows
from smartlab_kernel.planner.warping import OutcomeWarp, fit_warp

#: How a design point taken from an earlier campaign is described.
BEST_OF_HISTORY = "Best row of an earlier campaign, initial design"


@dataclass(frozen=True)
class Snapshot:
    """What the engine needs from the campaign state (copied under the planner's lock).

    Attributes:
        X_observed: A ``n x d`` tensor of executed inputs of successful experiments.
        Y_observed: A ``n x m`` tensor of their outcomes, signed so larger is better.
        X_failed: A ``f x d`` tensor of executed inputs of failed experiments.
        X_pending: A ``p x d`` tensor of open suggestions.
        X_rejected: A ``r x d`` tensor of rejected suggestions.
        n_batches: Suggest calls so far (seeds this call).
        n_design: Initial-design points suggested so far.
        warm_start: Outcome-GP hyperparameters of the last fit.
        feasibility_warm_start: Success-GP hyperparameters of the last fit.
        fitted_at: Observations when ``warm_start`` was last optimised.
    """

    X_observed: Tensor
    Y_observed: Tensor
    X_failed: Tensor
    X_pending: Tensor
    X_rejected: Tensor
    n_batches: int
    n_design: int
    warm_start: RawState | None
    feasibility_warm_start: RawState | None
    fitted_at: int | None = None


@dataclass(frozen=True)
class Proposal:
    """One proposed point before it becomes a ``Suggestion`` record."""

    params: dict[str, Choice]
    predicted: dict[str, tuple[float, float]] | None
    reason: str
    model: dict[str, Any]


class Engine:
    """Initial design, then GP + log-acquisition optimisation.

    Args:
        space: The search space.
        objectives: The objectives.
        seed: Campaign seed.
        design_size: Size of the initial design.
        choices: A ``k x d`` tensor of allowed points (pool or grid), or ``None``.
        warp_outcomes: Model a power transform of a single objective (``warping``).
        kernel: Covariance of the outcome model (see ``Planner``'s ``kernel``).
        design_center: Begin the initial design with the centre of the space.
        search_effort: One of :data:`~smartlab_kernel.planner.settings.SearchEffort`
            (see :func:`settings_for`).
        history: Earlier campaigns (a multi-task model), or ``None``.
        pool_design: How the initial design picks pool rows.
        mixed_search: How mixed spaces are searched (see ``Planner``).
        model_fit: ``"warm"`` starts each outcome-model fit from the last
            one's hyperparameters, ``"scratch"`` from the priors' modes,
            ``"periodic"`` re-optimises them as
            :func:`~smartlab_kernel.planner.settings.refit_due` says.
        transfer_start: With ``history``, whether the design begins with the
            earlier campaigns' best rows (see
            :data:`~smartlab_kernel.planner.settings.TransferStart`).
    """

    def __init__(
        self,
        space: SearchSpace,
        objectives: list[Objective],
        seed: int,
        design_size: int,
        choices: Tensor | None,
        warp_outcomes: bool = False,
        kernel: KernelChoice = "dimension_scaled",
        design_center: bool = False,
        search_effort: SearchEffort = "thorough",
        history: History | None = None,
        pool_design: PoolDesign = "sobol",
        mixed_search: MixedSearch = "joint",
        model_fit: ModelFit = "warm",
        transfer_start: TransferStart = "best",
    ) -> None:
        self.space = space
        self.model_fit = model_fit
        self.history = history
        self.transfer_start = transfer_start
        #: The earlier campaigns' best rows, the first design points with ``"best"``.
        self.history_best = [] if history is None else best_rows(space, history)
        self.pool_design = pool_design
        self.mixed_search = mixed_search
        self.warp_outcomes = warp_outcomes
        self.objectives = objectives
        self.seed = seed
        self.design_size = design_size
        self.choices = choices
        self.kernel = kernel
        self.design_center = design_center
        self.search_effort = search_effort

    def propose(self, snap: Snapshot, n: int) -> list[Proposal]:
        """Propose ``n`` points: initial-design slots first, then model slots."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed * 100_003 + snap.n_batches)
            n_started = len(snap.X_observed) + len(snap.X_failed) + len(snap.X_pending)
            need = self.model_minimum
            n_design = n if len(snap.X_observed) < need else max(0, self.design_size - n_started)
            proposals = self._design(snap, min(n, n_design))
            # Below the model's minimum there is no model: a design that ran out
            # of pool rows returns fewer points rather than fitting on nothing.
            if len(proposals) < n and len(snap.X_observed) >= need:
                threads = threads_for(len(snap.X_observed))
                with recorded_warnings() as messages, torch_threads(threads):
                    model_proposals = self._model(snap, n - len(proposals), proposals)
                for proposal in model_proposals:
                    proposal.model["warnings"] = messages
                proposals += model_proposals
            return proposals

    @property
    def model_minimum(self) -> int:
        """Successful observations before the model suggests.

        Two, or one for a one-point design (whose model then chooses the second
        experiment, as BayBE's does).
        """
        return min(2, self.design_size)

    def available(self, snap: Snapshot, extra: Tensor | None = None) -> Tensor:
        """Boolean mask over ``choices`` of points not yet observed, pending, failed or rejected."""
        assert self.choices is not None
        used = [snap.X_observed, snap.X_failed, snap.X_pending, snap.X_rejected]
        used_X = torch.cat(used + ([extra] if extra is not None else []))
        if len(used_X) == 0:
            return torch.ones(len(self.choices), dtype=torch.bool)
        scale = (self.space.bounds[1] - self.space.bounds[0]).clamp_min(1e-12)
        distance = torch.cdist(self.choices / scale, used_X / scale)
        return ~(distance < 1e-9).any(dim=-1)

    def _design(self, snap: Snapshot, n: int) -> list[Proposal]:
        if n == 0:
            return []
        starts = self._history_starts(snap, n)
        rows, kinds = self._design_rows(snap, n - len(starts), starts)
        rows, kinds = [*starts, *rows], [BEST_OF_HISTORY] * len(starts) + kinds
        total = max(self.design_size, snap.n_design + n)
        return [
            Proposal(
                params=row,
                predicted=None,
                reason=f"{kinds[i]} {snap.n_design + i + 1}/{total}",
                model={"kind": "initial_design", "n_observations": len(snap.X_observed)},
            )
            for i, row in enumerate(rows)
        ]

    def _history_starts(self, snap: Snapshot, n: int) -> list[dict[str, Choice]]:
        """``transfer_start="best"``: the design slots the earlier campaigns' best rows fill.

        Slot ``i`` of the design is the ``i``-th earlier campaign's best row
        (:func:`~smartlab_kernel.planner.transfer.best_rows`) while there is
        one; with candidates, the unused candidate nearest to it.
        """
        if self.history is None or self.transfer_start != "best":
            return []
        slots = range(snap.n_design, min(len(self.history_best), snap.n_design + n))
        rows = [self.history_best[i] for i in slots]
        if self.choices is not None and rows:
            picks = nearest_unused(
                self.space.encode(rows), self.choices, self.available(snap), self.space.bounds
            )
            rows = self.space.decode(self.choices[picks])
        return rows

    def _design_rows(
        self, snap: Snapshot, n: int, chosen: list[dict[str, Choice]]
    ) -> tuple[list[dict[str, Choice]], list[str]]:
        """``n`` rows of the usual initial design, after the ``chosen`` rows of this call."""
        if n <= 0:
            return [], []
        extra = self.space.encode(chosen) if chosen else None
        start = snap.n_design + len(chosen)
        if self.choices is not None and self.pool_design == "maxmin":
            return self._maxmin_rows(snap, n, extra)
        if self.choices is not None and self.pool_design == "sample":
            free = torch.nonzero(self.available(snap, extra)).flatten()
            draw = torch.Generator().manual_seed(self.seed * 1_000_003 + start)
            picks = free[torch.randperm(len(free), generator=draw)[:n]].tolist()
            rows = self.space.decode(self.choices[picks])
        else:
            rows = initial_design(self.space, self.seed, start, n, center=self.design_center)
        if self.choices is not None and self.pool_design == "sobol":
            picks = nearest_unused(
                self.space.encode(rows),
                self.choices,
                self.available(snap, extra),
                self.space.bounds,
            )
            rows = self.space.decode(self.choices[picks])
        return rows, [self._design_kind(start + i) for i in range(len(rows))]

    def _maxmin_rows(
        self, snap: Snapshot, n: int, extra: Tensor | None = None
    ) -> tuple[list[dict[str, Choice]], list[str]]:
        """``pool_design="maxmin"``: up to ``n`` unused pool rows, greedy max-min.

        With no experiment started yet (observed, failed or pending), the
        first row is drawn at random (seeded as ``"sample"``, so it is the
        same row); every further row is the unused row whose distance to the
        nearest row already started or chosen is largest, in the model's
        input space (the space's bounds scaled to the unit cube, one-hot
        categoricals). Rows at the same largest distance (within 1e-9, as
        one-hot codes often are) are drawn from at random, seeded.
        """
        assert self.choices is not None
        draw = torch.Generator().manual_seed(self.seed * 1_000_003 + snap.n_design)
        free = self.available(snap, extra)
        scale = (self.space.bounds[1] - self.space.bounds[0]).clamp_min(1e-12)
        unit = (self.choices - self.space.bounds[0]) / scale
        already = [snap.X_observed, snap.X_failed, snap.X_pending]
        started = torch.cat(already + ([extra] if extra is not None else []))
        nearest = torch.full((len(unit),), torch.inf, dtype=unit.dtype)
        if len(started):
            started_unit = (started - self.space.bounds[0]) / scale
            nearest = torch.cdist(unit, started_unit).min(dim=-1).values
        picks: list[int] = []
        kinds: list[str] = []
        for _ in range(n):
            index_free = torch.nonzero(free).flatten()
            if len(index_free) == 0:
                break
            if not picks and not len(started):
                pick = int(index_free[torch.randperm(len(index_free), generator=draw)[0]])
                kinds.append("Random candidate, initial design")
            else:
                gaps = nearest[index_free]
                far = index_free[gaps >= gaps.max() - 1e-9]
                pick = int(far[torch.randint(len(far), (1,), generator=draw)])
                kinds.append("Farthest candidate from those started, initial design")
            picks.append(pick)
            free[pick] = False
            nearest = torch.minimum(nearest, torch.cdist(unit, unit[pick : pick + 1]).squeeze(-1))
        return self.space.decode(self.choices[picks]), kinds

    def _design_kind(self, index: int) -> str:
        if self.choices is not None and self.pool_design == "sample":
            return "Random candidate, initial design"
        if self.design_center and index == 0:
            return "Centre of the space, initial design"
        return "Sobol initial design"

    def _model(self, snap: Snapshot, q: int, design: list[Proposal]) -> list[Proposal]:
        X_new = self.space.encode([p.params for p in design]) if design else None
        X_pending = torch.cat([snap.X_pending] + ([X_new] if X_new is not None else []))
        n = len(snap.X_observed)
        warp = fit_warp(snap.Y_observed, self.warp_outcomes)
        warm_start = snap.warm_start if self.model_fit != "scratch" else None
        optimise = warm_start is None or refit_due(self.model_fit, n, snap.fitted_at)
        fitted = fit_outcome_model(
            snap.X_observed,
            warp.forward(snap.Y_observed),
            self.space.bounds,
            warm_start,
            self.kernel,
            self.history,
            warp,
            self.space.column_groups,
            optimise,
        )
        feasibility = None
        if len(snap.X_failed):
            X_all = torch.cat([snap.X_observed, snap.X_failed])
            labels = torch.cat([torch.ones(n, 1), torch.zeros(len(snap.X_failed), 1)]).to(DTYPE)
            feasibility = fit_gp(
                X_all, labels, self.space.bounds, snap.feasibility_warm_start, standardize=False
            )
        ref_point = self._ref_point(snap.Y_observed) if len(self.objectives) > 1 else None
        light = bool(self.space.categoricals) or self.choices is not None
        settings = replace(
            settings_for(n, q, light=light, effort=self.search_effort),
            mixed_search=self.mixed_search,
        )
        acquisition = build_acquisition(
            fitted.model,
            snap.X_observed,
            X_pending if len(X_pending) else None,
            seed=self.seed + snap.n_batches,
            ref_point=ref_point,
            feasibility_model=feasibility.model if feasibility else None,
            mc_samples=settings.mc_samples if len(self.objectives) == 1 else 64,
        )
        choices = None
        if self.choices is not None:
            choices = self.choices[self.available(snap, X_new)]
            q = min(q, len(choices))
            if q == 0:
                return []
        X, value, optimizer_warnings = optimize(acquisition, self.space, q, settings, choices)
        mean, std = warp.inverse_mean_std(*posterior_mean_std(fitted.model, X))
        name = "qLogNEI" if len(self.objectives) == 1 else "qLogNEHVI"
        weighted = " x P(success)" if feasibility else ""
        state = {
            "kind": "SingleTaskGP" if self.history is None else "MultiTaskGP",
            "kernel": self.kernel,
            "search_effort": self.search_effort,
            "mixed_search": self.mixed_search,
            "model_fit": self.model_fit,
            "torch_threads": torch.get_num_threads(),
            # observations when the hyperparameters were last optimised
            "fitted_at": n if fitted.optimised else snap.fitted_at,
            "acquisition": name + weighted,
            "acquisition_value": value,
            "n_observations": n,
            "n_failed": len(snap.X_failed),
            "n_pending": len(X_pending),
            "hyperparameters": fitted.summary,
            "outcome_warping": warp.summary(),
            "fit_warnings": fitted.warnings,
            "optimizer_warnings": optimizer_warnings,
            "raw_state": fitted.raw_state,
            "feasibility_raw_state": feasibility.raw_state if feasibility else None,
            "ref_point": ref_point.tolist() if ref_point is not None else None,
        }
        what = "expected improvement" if name == "qLogNEI" else "expected hypervolume improvement"
        proposals = []
        for i, row in enumerate(self.space.decode(X)):
            predicted = {
                o.name: (float(mean[i, j]) * o.sign, float(std[i, j]))
                for j, o in enumerate(self.objectives)
            }
            reason = f"{name}{weighted} = {value:.4g}, max {what} (point {i + 1}/{len(X)} of batch)"
            proposals.append(Proposal(row, predicted, reason, state))
        return proposals

    def _ref_point(self, Y: Tensor) -> Tensor:
        low, high = Y.min(dim=0).values, Y.max(dim=0).values
        ref = low - 0.1 * (high - low).clamp_min(1e-9)
        for j, objective in enumerate(self.objectives):
            if objective.threshold is not None:
                ref[j] = objective.threshold * objective.sign
        return ref


def fit_outcome_model(
    X: Tensor,
    Y: Tensor,
    bounds: Tensor,
    warm_start: RawState | None,
    kernel: KernelChoice,
    history: History | None,
    warp: OutcomeWarp,
    groups: list[int],
    optimise: bool = True,
) -> FittedModel:
    """The outcome GP: a ``SingleTaskGP``, or with ``history`` a ``MultiTaskGP``.

    ``Y`` is already warped; the history's outcomes get the same warp.
    ``groups`` gives each input column's parameter (see
    :func:`~smartlab_kernel.planner.model.make_kernel`); ``optimise=False``
    keeps ``warm_start``'s hyperparameters.
    """
    if history is None:
        return fit_gp(X, Y, bounds, warm_start, kernel=kernel, groups=groups, optimise=optimise)
    warped = History(
        X=history.X, Y=warp.forward(history.Y), task=history.task, n_tasks=history.n_tasks
    )
    return fit_multitask(
        X, Y, warped, bounds, warm_start, kernel=kernel, groups=groups, optimise=optimise
    )


def settings_for(
    n_observations: int, q: int, light: bool = False, effort: SearchEffort = "thorough"
) -> OptimizerSettings:
    """Search effort: less for large models and joint batches, so latency stays bounded.

    One point from a model of fewer than 60 observations over a continuous
    space of reals and integers gets Ax's effort: 512 quasi-MC samples (the
    BoTorch default), 20 restarts from the best of 1024 raw samples, up to
    200 iterations each. It costs about 0.05 s per suggestion; with the
    centre point it lifted the continuous benchmarks to Ax's level
    (``docs/planner/benchmarks.md``). ``light`` spaces keep the lighter
    settings: a finite set is scored exactly (whose benchmark figures were
    measured with 128 samples), and a mixed space optimises every category
    combination.

    ``effort`` only changes that first case. ``"quick"`` keeps the lighter
    settings there, the search planners made before 2026-11-30;
    ``"thorough_128"`` is Ax's effort with 128 quasi-MC samples, the search
    of 2026-11-30 before the 512 samples. Both let a resumed campaign search
    as it did when its suggestions were made.

    Args:
        n_observations: Training points of the model.
        q: Batch size (the joint problem has ``q x d`` variables).
        light: The space is a finite set or has categorical parameters.
        effort: The planner's ``search_effort``.
    """
    if q == 1 and n_observations < 60 and not light and effort != "quick":
        samples = 128 if effort == "thorough_128" else 512
        return OptimizerSettings(mc_samples=samples, num_restarts=20, raw_samples=1024, maxiter=200)
    if q == 1:  # one point: the cheap case, spend more on the search
        restarts = 12 if n_observations < 60 else (8 if n_observations < 150 else 4)
        raw_samples = 512 if n_observations < 60 else (256 if n_observations < 150 else 128)
    else:
        restarts = 4 if n_observations < 60 else (3 if n_observations < 150 else 2)
        raw_samples = 256 if n_observations < 150 else 128
    return OptimizerSettings(
        mc_samples=128 if q == 1 and n_observations < 150 else 64,
        num_restarts=restarts,
        raw_samples=raw_samples,
        maxiter=100 if q == 1 else 60,
    )


__all__ = ["Engine", "Proposal", "Snapshot", "fit_outcome_model", "settings_for"]

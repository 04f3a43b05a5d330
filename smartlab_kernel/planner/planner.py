"""The planner: suggest experiments, record human decisions, learn from results."""

from __future__ import annotations

import copy
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, cast

import pandas as pd
import torch

from smartlab_kernel.planner.campaign_ids import new_campaign_id
from smartlab_kernel.planner.constraints import LinearConstraint
from smartlab_kernel.planner.design import default_design_size
from smartlab_kernel.planner.engine import Engine, Snapshot
from smartlab_kernel.planner.errors import InvalidConfigError, PlannerStateError
from smartlab_kernel.planner.history import make_record
from smartlab_kernel.planner.model import KERNELS, KernelChoice
from smartlab_kernel.planner.objectives import Objective
from smartlab_kernel.planner.parameters import Parameter
from smartlab_kernel.planner.pool import validate_candidates
from smartlab_kernel.planner.prediction import Predictor
from smartlab_kernel.planner.results import (
    best_rows,
    decisions_frame,
    observations_frame,
    validate_outcomes,
)
from smartlab_kernel.planner.settings import (
    MIXED_SEARCHES,
    MODEL_FITS,
    POOL_DESIGNS,
    SEARCH_EFFORTS,
    TRANSFER_STARTS,
    MixedSearch,
    ModelFit,
    PoolDesign,
    SearchEffort,
    TransferStart,
)
from smartlab_kernel.planner.space import DTYPE, SearchSpace
from smartlab_kernel.planner.state import CampaignState
from smartlab_kernel.planner.suggestion import Suggestion
from smartlab_kernel.planner.transfer import TRANSFER_DESIGN, encode_history

#: Largest fully discrete space that is enumerated instead of relaxed.
MAX_GRID = 20_000
#: Most suggestions one call may ask for: the joint batch has ``n x d``
#: variables, and its acquisition's memory grows with ``n`` squared.
MAX_BATCH = 100


def resolve_kernel(kernel: str, space: SearchSpace, finite: bool) -> KernelChoice:
    """The outcome model's covariance for ``kernel`` (``"auto"`` or one of :data:`KERNELS`).

    ``"auto"`` picks ``"matern_gamma"`` for a finite candidate set without
    categorical parameters: over the benchmark pools (crossed_barrel, hplc)
    it found the top 1 % in about 17 experiments instead of 21-22. On the
    continuous box its wigglier surface made the acquisition harder to
    optimise (worse best values after 50 experiments), and with one-hot
    categorical inputs (buchwald_a) it took 31 experiments instead of 17:
    there BoTorch's dimension-scaled default stays.

    Raises:
        InvalidConfigError: If ``kernel`` is not ``"auto"`` or one of :data:`KERNELS`.
    """
    if kernel == "auto":
        return "matern_gamma" if finite and not space.categoricals else "dimension_scaled"
    if kernel in KERNELS:
        return cast(KernelChoice, kernel)
    raise InvalidConfigError(f"kernel must be 'auto' or one of {KERNELS}, got {kernel!r}")


def resolve_design_center(design_center: bool | None, space: SearchSpace, finite: bool) -> bool:
    """Whether the initial design starts at the centre of the space.

    ``None`` means yes for a continuous space without categoricals: on the
    continuous hplc benchmark a central first point kept the model from
    chasing the corners of the box early (together with the search effort
    of :func:`~smartlab_kernel.planner.engine.settings_for`, the median best
    value after 50 experiments rose from 2937 to Ax's level). Finite candidate
    sets keep the pure Sobol design their benchmark figures were measured with.

    Raises:
        InvalidConfigError: If ``design_center`` is not a bool or ``None``, or is
            ``True`` for a space with categorical parameters.
    """
    if design_center is None:
        return not finite and not space.categoricals
    if not isinstance(design_center, bool):
        raise InvalidConfigError(f"design_center must be a bool or None, got {design_center!r}")
    if design_center and space.categoricals:
        names = [p.name for p in space.categoricals]
        raise InvalidConfigError(
            f"design_center=True needs numeric parameters only; categorical: {names}"
        )
    return design_center


def check_search_effort(search_effort: object) -> SearchEffort:
    """Return ``search_effort`` if it is one of :data:`SEARCH_EFFORTS`.

    Raises:
        InvalidConfigError: Otherwise, naming the allowed values.
    """
    if search_effort not in SEARCH_EFFORTS:
        raise InvalidConfigError(
            f"search_effort must be one of {list(SEARCH_EFFORTS)}, got {search_effort!r}"
        )
    return cast(SearchEffort, search_effort)


class Planner:
    """Bayesian-optimisation planner with human review and full provenance.

    Args:
        parameters: Search-space parameters (``Real``, ``Integer``, ``Categorical``).
        objectives: One objective (qLogNEI) or several (qLogNEHVI).
        constraints: ``SumConstraint`` / ``LinearConstraint`` over real parameters.
        candidates: Allowed parameter rows (pool mode), or ``None`` for the whole space.
        seed: Seed of the initial design and of every random draw.
        initial_design: Number of initial-design points (default: see
            :func:`~smartlab_kernel.planner.design.default_design_size`; two
            rows for a pool with ``pool_design="sample"`` or ``"maxmin"``). With 1, the model
            (fitted to that one observation) chooses the second experiment,
            as BayBE does.
        outcome_warping: Model a Yeo-Johnson power transform of a single objective,
            fitted to the observed values (see :mod:`smartlab_kernel.planner.warping`).
            Off by default: on the benchmark pools it made no measurable difference.
        kernel: Covariance of the outcome model: ``"matern_gamma"``,
            ``"dimension_scaled"``, ``"matern_scaled"`` (BayBE's; see
            :data:`~smartlab_kernel.planner.model.KernelChoice`)
            or ``"auto"`` (default): ``"matern_gamma"`` when the candidates are a
            finite set (a pool or an integer grid) without categorical
            parameters, else ``"dimension_scaled"``. The choice is recorded in
            the planner's configuration and in every suggestion.
        design_center: Make the centre of the space the first initial-design
            point, as Ax does (see :func:`~smartlab_kernel.planner.design.center_point`).
            ``None`` (default): yes for a continuous space without categorical
            parameters, no for a finite candidate set (whose design picks the
            rows nearest to Sobol points). Recorded in the configuration.
        search_effort: ``"thorough"`` (default) searches the acquisition with
            Ax's effort (512 quasi-MC samples, 20 restarts) when one point is
            asked of a model of fewer than 60 observations over a space without
            categoricals or candidates; ``"quick"`` keeps the lighter search
            there, about 0.05 s faster per suggestion; ``"thorough_128"`` is
            Ax's effort with 128 samples. Every other case is the same either
            way (see :func:`~smartlab_kernel.planner.engine.settings_for`).
            Recorded in the configuration, so a resumed campaign searches as
            it did when its suggestions were made.
        history: Observations of earlier, related campaigns (one DataFrame
            each, a column per parameter and the objective; one objective
            only): the model becomes a multi-task GP that learns how much each
            is like this campaign (see :mod:`~smartlab_kernel.planner.transfer`),
            and the default initial design shrinks to
            :data:`~smartlab_kernel.planner.transfer.TRANSFER_DESIGN` points,
            which begin with the earlier campaigns' best rows (see
            ``transfer_start``). The rows used are kept in the configuration.
        pool_design: How the initial design picks pool rows (pool mode only):
            ``"sample"`` (default), unused rows drawn at random (seeded), so the
            design follows where the pool's rows are; or ``"sobol"``, the
            unused row nearest each Sobol point (the design before 2026-12-04);
            or ``"maxmin"``, a random row and then, each time, the unused row
            farthest from every row already started (greedy max-min distance
            in the model's input space; with two design rows, a random row and
            the row farthest from it). On the four single-objective benchmark
            pools, sampling needed fewer experiments than Sobol on average on
            all four; ``"maxmin"`` was measured against sampling on 2026-12-05
            (``docs/planner/ablations.md``). Recorded in the configuration.
        mixed_search: How a space of categorical and continuous parameters
            is searched: ``"joint"`` (default) optimises a batch of several
            points jointly, in one optimiser run over every point's
            continuous values (each point keeps a category combination chosen
            greedily), and one point as ``"batched_early_stop"`` does;
            ``"batched_early_stop"`` (the default until 2026-12-06) searches
            the points of a batch one after another, each by one optimiser
            run over the starts of every promising category combination that
            stops once an iteration improves the acquisition by less than
            1e-4 of its value (a batch of four at 300 observations took about
            2.2 times as long as with ``"joint"``); ``"batched"`` is that
            search run to scipy's default tolerance; ``"per_combination"``
            runs the optimiser once per combination (the search before
            2026-12-05; see :mod:`~smartlab_kernel.planner.mixed`). Recorded
            in the configuration, so a resumed campaign searches as it did.
        model_fit: How the outcome model is fitted before each suggestion:
            ``"periodic"`` (default) starts from the previous fit's
            hyperparameters (at most 75 L-BFGS-B steps) at every suggestion
            below 100 observations, and above that only once the
            observations have grown by a tenth since the last optimisation
            (in between the GP is conditioned on every observation with the
            last hyperparameters, which keeps a suggestion at 300
            observations under half a second); ``"warm"`` re-optimises at
            every suggestion (the default before 2026-12-05); ``"scratch"``
            starts from the priors' modes every time (at most 200 steps), as
            BayBE does. Recorded in the configuration and in every
            suggestion's model state, with the observations at the last
            optimisation (``fitted_at``; see
            :data:`~smartlab_kernel.planner.settings.ModelFit`).
        transfer_start: With ``history``: ``"best"`` (default) makes each
            earlier campaign's best row the first design points (in pool mode
            the unused candidate nearest to it), ``"design"`` uses the usual
            design only (the start before 2026-12-05). On buchwald_a split by
            aryl halide it lowered the median experiments to the first top-1 %
            row (``docs/planner/ablations.md``). Recorded in the configuration.
    """

    def __init__(
        self,
        parameters: Sequence[Parameter],
        objectives: Sequence[Objective],
        constraints: Sequence[LinearConstraint] = (),
        candidates: pd.DataFrame | None = None,
        seed: int = 0,
        initial_design: int | None = None,
        outcome_warping: bool = False,
        kernel: str = "auto",
        design_center: bool | None = None,
        search_effort: SearchEffort = "thorough",
        history: Sequence[pd.DataFrame] = (),
        pool_design: PoolDesign = "sample",
        mixed_search: MixedSearch = "joint",
        model_fit: ModelFit = "periodic",
        transfer_start: TransferStart = "best",
    ) -> None:
        names = [o.name for o in objectives]
        if not objectives or len(set(names)) != len(names):
            raise InvalidConfigError(f"need at least one objective, names unique; got {names}")
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            raise InvalidConfigError(f"seed must be a non-negative int, got {seed!r}")
        self.space = SearchSpace(parameters, constraints or ())
        self.objectives = list(objectives)
        self.seed = seed
        #: The earlier campaigns' observations, encoded (``None`` without ``history``).
        self.transfer = encode_history(self.space, self.objectives, history)
        size = initial_design
        if size is None:
            sampled_pool = candidates is not None and pool_design in ("sample", "maxmin")
            default = default_design_size(self.space, sampled_pool)
            size = default if self.transfer is None else min(default, TRANSFER_DESIGN)
        if not isinstance(size, int) or size < 1:
            raise InvalidConfigError(f"initial_design must be an int >= 1, got {initial_design!r}")
        self.initial_design = size
        self.candidate_rows = (
            None if candidates is None else validate_candidates(self.space, candidates)
        )
        choices = None
        if self.candidate_rows is not None:
            choices = self.space.encode(self.candidate_rows)
        elif self.space.grid_size() <= MAX_GRID:
            choices = self.space.encode(self.space.grid())
        if not isinstance(outcome_warping, bool):
            raise InvalidConfigError(f"outcome_warping must be a bool, got {outcome_warping!r}")
        self.outcome_warping = outcome_warping
        self.kernel: KernelChoice = resolve_kernel(kernel, self.space, finite=choices is not None)
        self.design_center = resolve_design_center(
            design_center, self.space, finite=choices is not None
        )
        self.search_effort = check_search_effort(search_effort)
        if pool_design not in POOL_DESIGNS:
            raise InvalidConfigError(
                f"pool_design must be one of {POOL_DESIGNS}, got {pool_design!r}"
            )
        self.pool_design: PoolDesign = pool_design
        if mixed_search not in MIXED_SEARCHES:
            raise InvalidConfigError(
                f"mixed_search must be one of {MIXED_SEARCHES}, got {mixed_search!r}"
            )
        self.mixed_search: MixedSearch = mixed_search
        if model_fit not in MODEL_FITS:
            raise InvalidConfigError(f"model_fit must be one of {MODEL_FITS}, got {model_fit!r}")
        self.model_fit: ModelFit = model_fit
        if transfer_start not in TRANSFER_STARTS:
            raise InvalidConfigError(
                f"transfer_start must be one of {TRANSFER_STARTS}, got {transfer_start!r}"
            )
        self.transfer_start: TransferStart = transfer_start
        self._engine = Engine(
            self.space,
            self.objectives,
            seed,
            size,
            choices,
            warp_outcomes=outcome_warping,
            kernel=self.kernel,
            design_center=self.design_center,
            search_effort=self.search_effort,
            history=self.transfer,
            # a grid of integers/categoricals keeps the space-filling Sobol design
            pool_design=pool_design if self.candidate_rows is not None else "sobol",
            mixed_search=mixed_search,
            model_fit=model_fit,
            transfer_start=transfer_start,
        )
        self._state = CampaignState()
        self._lock = threading.RLock()
        self._suggest_lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._predictor = Predictor(
            self.space,
            self.objectives,
            warp_outcomes=outcome_warping,
            kernel=self.kernel,
            history=self.transfer,
            model_fit=model_fit,
        )
        self.campaign_id = new_campaign_id()

    # -- suggestions ---------------------------------------------------------------
    def suggest(self, n: int = 1) -> list[Suggestion]:
        """Propose ``n`` experiments; open suggestions are pending and not proposed again.

        Args:
            n: Number of suggestions (the batch size ``q``).

        Returns:
            The suggestions (fewer only when a pool is exhausted).

        Raises:
            InvalidConfigError: If ``n`` is not an int from 1 to :data:`MAX_BATCH`.
        """
        if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= MAX_BATCH:
            raise InvalidConfigError(
                f"n must be an int from 1 to {MAX_BATCH} (the most one batch can be "
                f"optimised jointly; ask in several calls for more), got {n!r}"
            )
        with self._suggest_lock:
            with self._lock:
                snap = self._snapshot()
            proposals = self._engine.propose(snap, n)
            with self._lock:
                batch = self._state.n_batches
                start = len(self._state.suggestions)
                number = self._state.next_number
                for i, proposal in enumerate(proposals):
                    record = make_record(
                        "suggest",
                        id=f"{self.campaign_id}-{number + i:04d}",
                        batch=batch,
                        params=proposal.params,
                        predicted=proposal.predicted,
                        reason=proposal.reason,
                        model=proposal.model,
                    )
                    self._state.apply(record)
                ids = list(self._state.suggestions)[start:]
                return [self._state.suggestions[i] for i in ids]

    def suggest_async(self, n: int = 1) -> Future[list[Suggestion]]:
        """Like :meth:`suggest`, computed on a worker thread; returns at once."""
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(1, thread_name_prefix="planner")
            return self._executor.submit(self.suggest, n)

    def _snapshot(self) -> Snapshot:
        state, signs = self._state, torch.tensor([o.sign for o in self.objectives], dtype=DTYPE)
        observed = state.observed
        Y = torch.tensor(
            [[out[o.name] for o in self.objectives] for _, out in observed], dtype=DTYPE
        )
        return Snapshot(
            X_observed=self.space.encode([p for p, _ in observed]),
            Y_observed=Y.reshape(len(observed), len(self.objectives)) * signs,
            X_failed=self.space.encode(state.failed),
            X_pending=self.space.encode(state.pending),
            X_rejected=self.space.encode(state.rejected),
            n_batches=state.n_batches,
            n_design=state.n_design,
            warm_start=state.warm_start,
            feasibility_warm_start=state.feasibility_warm_start,
            fitted_at=state.fitted_at,
        )

    # -- decisions -----------------------------------------------------------------
    def observe(
        self,
        target: Suggestion | str | Mapping[str, Any],
        outcomes: Mapping[str, float],
        suggestion: Suggestion | str | None = None,
        *,
        decision: str | None = None,
        by: str | None = None,
    ) -> dict[str, Any]:
        """Record the outcomes of an executed experiment.

        Args:
            target: The suggestion (or its id) run as suggested, or the executed params.
            outcomes: ``{objective name: value}`` for every objective.
            suggestion: The suggestion the executed params were edited from.
            decision: ``"auto"`` for a campaign that ran without human review.
            by: Who decided (a user name), kept in the record and in :attr:`decisions`.

        Returns:
            The stored record.
        """
        with self._lock:
            suggested, executed, sid = self._resolve(target, suggestion)
            kind = "manual" if sid is None else ("accept" if executed == suggested else "edit")
            if decision is not None:
                if decision != "auto" or kind != "accept":
                    raise InvalidConfigError(
                        f"decision={decision!r}: only 'auto' is allowed, for an unedited suggestion"
                    )
                kind = "auto"
            record = make_record(
                "observe",
                decision=kind,
                suggestion_id=sid,
                suggested=suggested,
                executed=executed,
                outcomes=validate_outcomes(self.objectives, outcomes),
                **_who(by),
            )
            self._state.apply(record)
            return copy.deepcopy(record)

    def reject(
        self, suggestion: Suggestion | str, reason: str = "", *, by: str | None = None
    ) -> dict[str, Any]:
        """Record that a suggestion will not be run (it is no longer pending)."""
        with self._lock:
            found = self._state.lookup(suggestion if isinstance(suggestion, str) else suggestion.id)
            record = make_record(
                "reject",
                decision="reject",
                suggestion_id=found.id,
                suggested=found.params,
                reason=str(reason),
                **_who(by),
            )
            self._state.apply(record)
            return copy.deepcopy(record)

    def fail(
        self,
        target: Suggestion | str | Mapping[str, Any],
        reason: str = "",
        suggestion: Suggestion | str | None = None,
        *,
        by: str | None = None,
    ) -> dict[str, Any]:
        """Record a failed experiment; the planner learns to avoid similar ones."""
        with self._lock:
            suggested, executed, sid = self._resolve(target, suggestion)
            record = make_record(
                "fail",
                decision="fail",
                suggestion_id=sid,
                suggested=suggested,
                executed=executed,
                reason=str(reason),
                **_who(by),
            )
            self._state.apply(record)
            return copy.deepcopy(record)

    def _resolve(
        self, target: Suggestion | str | Mapping[str, Any], suggestion: Suggestion | str | None
    ) -> tuple[dict[str, Any] | None, dict[str, Any], str | None]:
        if isinstance(target, Suggestion | str):
            if suggestion is not None:
                raise InvalidConfigError("give either a suggestion as target or `suggestion=`")
            suggestion, target = target, None  # type: ignore[assignment]
        found = None
        if suggestion is not None:
            found = self._state.lookup(suggestion if isinstance(suggestion, str) else suggestion.id)
        if target is None and found is None:
            raise InvalidConfigError("observe/fail need a suggestion or a parameter dict")
        executed = self.space.validate(found.params if found and target is None else target)  # type: ignore[arg-type]
        return (found.params if found else None), executed, (found.id if found else None)

    # -- results -------------------------------------------------------------------
    @property
    def history(self) -> list[dict[str, Any]]:
        """Every record (suggestions and decisions), JSON-safe, oldest first."""
        with self._lock:
            return copy.deepcopy(self._state.records)

    @property
    def pending(self) -> list[Suggestion]:
        """Suggestions neither observed, rejected nor failed."""
        with self._lock:
            return [self._state.suggestions[i] for i in self._state.open_ids]

    @property
    def decisions(self) -> pd.DataFrame:
        """Every decision on a suggestion, oldest first, as a DataFrame.

        One row per accept, edit, manual or automatic observation, rejection
        and failure. Columns: ``time``, ``suggestion_id``, ``decision``, ``by`` (who decided,
        when given), ``reason``, ``suggested.<parameter>`` and
        ``executed.<parameter>`` (what was proposed and what was run),
        ``predicted.<objective>`` and ``predicted_std.<objective>`` (the model's
        prediction when it was suggested), and ``<objective>`` (the outcome).
        """
        with self._lock:
            records = copy.deepcopy(self._state.records)
        return decisions_frame(records, self.space.names, [o.name for o in self.objectives])

    @property
    def observations(self) -> pd.DataFrame:
        """Executed experiments: params, outcomes (NaN if failed), decision, suggestion_id."""
        with self._lock:
            objectives = [o.name for o in self.objectives]
            return observations_frame(self._state.records, self.space.names, objectives)

    def best(self) -> dict[str, Any]:
        """The best observation: ``{"params", "outcomes", "decision", "suggestion_id"}``.

        With several objectives: the Pareto-optimal observation with the best
        sum of range-scaled objectives (see :meth:`pareto_front` for all).
        """
        with self._lock:
            return best_rows(self._state.records, self.objectives)[0]

    def pareto_front(self) -> list[dict[str, Any]]:
        """Non-dominated observations (one objective: just the best)."""
        with self._lock:
            return best_rows(self._state.records, self.objectives)

    def predict(self, params: Mapping[str, Any] | pd.DataFrame) -> Any:
        """Model mean and std per objective, in the objectives' units.

        Args:
            params: One parameter dict, or a DataFrame with a column per parameter.

        Returns:
            ``{objective: (mean, std)}`` for a dict; for a DataFrame, a DataFrame
            with columns ``<objective>_mean`` and ``<objective>_std``.
        """
        with self._lock:
            snap = self._snapshot()
        if len(snap.X_observed) < 2:
            raise PlannerStateError("predict needs at least two successful observations")
        return self._predictor.predict(snap, params)

    # -- persistence -----------------------------------------------------------------
    def to_config(self, include_candidates: bool = True) -> dict[str, Any]:
        """JSON-safe settings from which :meth:`from_config` rebuilds this planner."""
        from smartlab_kernel.planner.persistence import planner_config

        return planner_config(self, include_candidates)

    @classmethod
    def from_config(
        cls, config: Mapping[str, Any], candidates: pd.DataFrame | None = None
    ) -> Planner:
        """A new planner (no history) from :meth:`to_config` output."""
        from smartlab_kernel.planner.persistence import planner_from_config

        return planner_from_config(cls, config, candidates)

    def replay(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Rebuild the state of a planner with no history from its stored records."""
        from smartlab_kernel.planner.persistence import replay_records

        with self._suggest_lock, self._lock:
            self._state = replay_records(self.space, self._state, records)

    @classmethod
    def restore(
        cls,
        config: Mapping[str, Any],
        records: Sequence[Mapping[str, Any]],
        candidates: pd.DataFrame | None = None,
    ) -> Planner:
        """``from_config(config)`` then ``replay(records)``: resume a campaign."""
        planner = cls.from_config(config, candidates)
        planner.replay(records)
        return planner

    def close(self) -> None:
        """Stop the worker thread of :meth:`suggest_async` (waits for running work)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None


def _who(by: str | None) -> dict[str, str]:
    """``{"by": by}`` for a record, or nothing; refuses a ``by`` that is not a string."""
    if by is None:
        return {}
    if not isinstance(by, str) or not by:
        raise InvalidConfigError(f"by must be a non-empty str (who decided), got {by!r}")
    return {"by": by}


__all__ = ["Planner"]

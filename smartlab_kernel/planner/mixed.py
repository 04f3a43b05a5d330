"""Mixed spaces: reals and integers optimised for each promising category combination.

The searches give the same kind of answer:

* :func:`optimize_mixed_joint` (``mixed_search="joint"``, the default since
  2026-12-06): a batch of ``q > 1`` points is optimised jointly, as BoTorch's
  ``optimize_acqf`` does for reals: starts of ``q`` points are built greedily
  from scored random points of the promising combinations, screened by a few
  L-BFGS-B steps, and the best are optimised over the continuous columns of
  all ``q`` points at once, each point keeping its combination. One point is
  searched as by the search below. Each evaluation of the acquisition costs
  about the same for one point or a batch (its cost is Python overhead in
  BoTorch and gpytorch, not arithmetic), so one run over the batch replaces
  ``q`` runs: on 36 problems (two molecules and four reals, 20 to 300
  observations, batches of two and four) it took less time and found batches
  of higher joint acquisition on most (``benchmarks/mixed_search_benchmark.py``,
  figures in ``docs/planner/benchmarks.md``);
* :func:`optimize_mixed_batched` (``mixed_search="batched"``): sequential
  greedy, each batch point from one L-BFGS-B run over the starts of every
  promising combination together (each start keeps its own category codes).
  One optimiser run per batch point instead of one per combination and point:
  a suggestion over two molecules and four reals took 1.2 s of optimisation
  for one point and 5.6 s for four (CPU time, 20 observations);
* the same with an early stop (``mixed_search="batched_early_stop"``, the
  default from 2026-12-05 to 2026-12-06): each L-BFGS-B run ends once an
  iteration improves the log-acquisition by less than ``1e-4`` of its value.
  On 12 test problems (two molecules and four reals, 20 and 300
  observations, batches of four) it took 0.71 of the time for batches whose
  acquisition values were as high (8 higher, 4 lower, by at most 0.005 in
  log-EI); the joint search stops the same way;
* :func:`optimize_mixed`: one ``optimize_acqf`` per combination and batch point,
  the search of planners made before (``mixed_search="per_combination"``).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import torch
from botorch.acquisition import AcquisitionFunction
from botorch.generation.gen import gen_candidates_scipy
from botorch.optim import optimize_acqf
from torch import Tensor, nn

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


class _WithCodes(nn.Module):
    """The acquisition over the continuous columns, each point with its own category codes.

    Args:
        acquisition: The acquisition over all ``d`` columns.
        codes: A ``b x q x c`` tensor, the category columns' values of each
            start's ``q`` points.
        order: Permutation putting continuous then category columns back in
            the space's order (:attr:`_Layout.order`).
    """

    def __init__(self, acquisition: AcquisitionFunction, codes: Tensor, order: Tensor) -> None:
        super().__init__()
        self.acquisition = acquisition
        self.codes = codes
        self.order = order

    def forward(self, X: Tensor) -> Tensor:
        """``X``: a ``b x q x f`` tensor; returns the ``b`` acquisition values."""
        return self.acquisition(assemble(X, self.codes, self.order))


def assemble(X_free: Tensor, codes: Tensor, order: Tensor) -> Tensor:
    """Points of the whole space from continuous columns and category codes.

    Args:
        X_free: A ``... x f`` tensor of the continuous columns.
        codes: A ``... x c`` tensor of the category columns (same batch shape).
        order: Permutation putting ``free + fixed`` columns back in the space's order.

    Returns:
        A ``... x d`` tensor.
    """
    return torch.cat([X_free, codes], dim=-1)[..., order]


def optimize_mixed_batched(
    acquisition: AcquisitionFunction,
    space: SearchSpace,
    q: int,
    settings: OptimizerSettings,
    kwargs: dict[str, object],
) -> Tensor:
    """Sequential greedy batch, each point from one L-BFGS-B run over all combinations.

    Each promising combination scores ``max(32, raw_samples // 4)`` random
    points of the continuous columns (as in :func:`optimize_mixed`); the best
    point of each of the ``num_restarts`` best-scoring combinations is a start
    (the continuous search's number of starts), and all starts are optimised
    together over the continuous columns, each with its own combination
    fixed. Spaces with linear constraints use :func:`optimize_mixed` (its
    starts are repaired to be feasible).

    Returns:
        A ``q x d`` tensor.
    """
    if space.constraints:
        return optimize_mixed(acquisition, space, q, settings, kwargs)
    combos = promising_combinations(acquisition, space, settings)
    layout = _Layout(space, combos)
    if not layout.free:  # categoricals only: the best combination is the point
        return _best_combinations(acquisition, space, combos, q)
    base_pending = acquisition.X_pending
    chosen: list[Tensor] = []
    for _ in range(q):
        X_raw, values = layout.score_raw(acquisition, settings)
        best_raw, at = values.max(dim=1)  # each combination's best raw point
        keep = best_raw.argsort(descending=True)[: settings.num_restarts]  # most promising
        starts = X_raw[keep, at[keep]]
        start_codes = layout.codes[keep]
        X, scores = layout.optimise(
            acquisition, starts.unsqueeze(-2), start_codes.unsqueeze(-2), settings
        )
        best = int(scores.reshape(-1).argmax())
        chosen.append(layout.points(X[best].detach(), start_codes[best].unsqueeze(0)))
        pending = torch.cat([p for p in (base_pending, *chosen) if p is not None])
        acquisition.set_X_pending(pending)
    acquisition.set_X_pending(base_pending)
    return torch.cat(chosen)


def optimize_mixed_joint(
    acquisition: AcquisitionFunction,
    space: SearchSpace,
    q: int,
    settings: OptimizerSettings,
    kwargs: dict[str, object],
) -> Tensor:
    """A batch optimised jointly, from starts built greedily among scored random points.

    The random points of every promising combination are scored once, as in
    :func:`optimize_mixed_batched`; the best point of each combination and
    then the best others become the :data:`JOINT_CANDIDATES` candidates.
    Start ``r`` (of :data:`JOINT_GREEDY_STARTS`) takes the ``r``-th
    candidate, then adds, one at a time, the candidate of largest acquisition
    given the points already in the start (as pending points). All starts get
    :data:`JOINT_SCREEN_ITERATIONS` L-BFGS-B steps; the ``num_restarts`` best
    then run to convergence, over the continuous columns of all ``q`` points
    at once (the batch's joint acquisition, as BoTorch's ``optimize_acqf``
    does for reals), each point keeping its combination. One point
    (``q = 1``) and spaces with linear constraints use
    :func:`optimize_mixed_batched`, so their suggestions are the same.

    Returns:
        A ``q x d`` tensor.
    """
    if q == 1 or space.constraints:
        return optimize_mixed_batched(acquisition, space, q, settings, kwargs)
    combos = promising_combinations(acquisition, space, settings)
    layout = _Layout(space, combos)
    if not layout.free:
        return _best_combinations(acquisition, space, combos, q)
    # at least two candidates for every batch point, so each start's points differ
    X_raw, values = layout.score_raw(acquisition, settings, at_least=2 * q)
    n_raw = X_raw.shape[1]
    top = _candidate_order(values)[: max(JOINT_CANDIDATES, 2 * q)]
    free_part = X_raw.reshape(-1, X_raw.shape[-1])[top]
    code_part = layout.codes[top // n_raw]
    candidates = layout.points(free_part, code_part)
    starts, _ = _greedy_starts(
        acquisition, candidates, min(JOINT_GREEDY_STARTS, len(candidates)), q
    )
    # a few steps from every start, then the most promising to convergence
    screen = replace(settings, maxiter=JOINT_SCREEN_ITERATIONS)
    X, scores = layout.optimise(acquisition, free_part[starts], code_part[starts], screen)
    keep = scores.reshape(-1).argsort(descending=True)[: settings.num_restarts]
    starts = starts[keep]
    X, scores = layout.optimise(acquisition, X[keep].detach(), code_part[starts], settings)
    best = int(scores.reshape(-1).argmax())
    return layout.points(X[best].detach(), code_part[starts[best]])


#: :func:`optimize_mixed_joint`: the best-scoring random points its starts are built from.
JOINT_CANDIDATES = 32
#: :func:`optimize_mixed_joint`: greedy starts built and screened; the
#: ``num_restarts`` of largest joint acquisition after the screen are optimised on.
JOINT_GREEDY_STARTS = 8
#: :func:`optimize_mixed_joint`: L-BFGS-B iterations of the screen.
JOINT_SCREEN_ITERATIONS = 5


def _candidate_order(values: Tensor) -> Tensor:
    """Indices of scored random points (flattened), each combination's best first.

    Args:
        values: A ``k x n`` tensor, the values of ``n`` random points of each of
            ``k`` combinations.

    Returns:
        The ``k * n`` flat indices: the best point of every combination (best
        combination first), then all other points, best first. Starts open
        with the first candidates, so they open in different combinations.
    """
    n = values.shape[1]
    leaders = values.argmax(dim=1) + torch.arange(len(values)) * n
    leaders = leaders[values.reshape(-1)[leaders].argsort(descending=True)]
    rest = values.reshape(-1).argsort(descending=True)
    rest = rest[~torch.isin(rest, leaders)]
    return torch.cat([leaders, rest])


def _greedy_starts(
    acquisition: AcquisitionFunction, candidates: Tensor, r: int, q: int
) -> tuple[Tensor, Tensor]:
    """``r`` starts of ``q`` candidates each, built greedily, all starts at once.

    Start ``i`` begins with candidate ``i``; each step adds to every start the
    candidate that gives the largest joint acquisition of the start's points
    so far and it (the value the candidate would have with those points
    pending).

    Args:
        acquisition: The acquisition function.
        candidates: A ``m x d`` tensor, best first (``m >= r`` and ``m >= q``).
        r: Number of starts.
        q: Points per start.

    Returns:
        A ``r x q`` tensor of candidate indices and the ``r`` starts' joint
        acquisition values.
    """
    m = len(candidates)
    chosen = torch.arange(r).unsqueeze(-1)  # r x 1
    best = torch.full((r,), -math.inf, dtype=candidates.dtype)
    while chosen.shape[-1] < q:
        so_far = candidates[chosen]  # r x j x d
        trial = torch.cat(
            [
                so_far.unsqueeze(1).expand(r, m, *so_far.shape[1:]),
                candidates.expand(r, m, -1).unsqueeze(-2),
            ],
            dim=-2,
        )  # r x m x (j + 1) x d
        with torch.no_grad():
            values = acquisition(trial.reshape(r * m, *trial.shape[2:])).reshape(r, m)
        values.scatter_(1, chosen, -math.inf)  # each candidate once per start
        best, pick = values.max(dim=-1)
        chosen = torch.cat([chosen, pick.unsqueeze(-1)], dim=-1)
    return chosen, best


class _Layout:
    """The continuous and category columns of a mixed space, and its promising combinations.

    Args:
        space: The search space.
        combos: The promising combinations (:func:`promising_combinations`).
    """

    def __init__(self, space: SearchSpace, combos: list[dict[int, float]]) -> None:
        self.space = space
        self.fixed = sorted(combos[0])
        self.free = [c for c in range(space.dim) if c not in combos[0]]
        self.order = torch.argsort(torch.tensor(self.free + self.fixed))
        self.codes = torch.tensor([[combo[c] for c in self.fixed] for combo in combos], dtype=DTYPE)
        self.lows, self.highs = space.bounds[0, self.free], space.bounds[1, self.free]

    def points(self, X_free: Tensor, codes: Tensor) -> Tensor:
        """Whole points from continuous columns and category codes (same batch shape)."""
        return assemble(X_free, codes, self.order)

    def score_raw(
        self, acquisition: AcquisitionFunction, settings: OptimizerSettings, at_least: int = 0
    ) -> tuple[Tensor, Tensor]:
        """``max(32, raw_samples // 4)`` random points of each combination, and their values.

        Args:
            acquisition: The acquisition over all columns.
            settings: ``raw_samples`` sets the number of points.
            at_least: More points per combination if needed for this many in all.

        Returns:
            A ``k x n x f`` tensor of the points' continuous columns and a ``k x n``
            tensor of their single-point acquisition values.
        """
        k = len(self.codes)
        n_raw = max(32, settings.raw_samples // 4, -(-at_least // k))
        span = self.highs - self.lows
        X_raw = self.lows + torch.rand(k, n_raw, len(self.free), dtype=DTYPE) * span
        points = self.points(X_raw, self.codes.unsqueeze(1).expand(k, n_raw, -1))
        with torch.no_grad():
            values = torch.cat(
                [
                    acquisition(part.unsqueeze(-2))
                    for part in points.reshape(-1, self.space.dim).split(256)
                ]
            ).reshape(k, n_raw)
        return X_raw, values

    def optimise(
        self,
        acquisition: AcquisitionFunction,
        starts: Tensor,
        codes: Tensor,
        settings: OptimizerSettings,
    ) -> tuple[Tensor, Tensor]:
        """One L-BFGS-B run over the continuous columns of ``b x q`` start points.

        Args:
            acquisition: The acquisition over all columns.
            starts: A ``b x q x f`` tensor of the starts' continuous columns.
            codes: A ``b x q x c`` tensor of their category codes (kept fixed).
            settings: ``maxiter``, the stop tolerance and the timeout.

        Returns:
            The optimised ``b x q x f`` continuous columns and the ``b`` values.
        """
        wrapped = _WithCodes(acquisition, codes, self.order)
        return gen_candidates_scipy(
            starts,
            wrapped,  # type: ignore[arg-type]
            lower_bounds=self.lows,
            upper_bounds=self.highs,
            options={"maxiter": settings.maxiter}
            | ({} if settings.ftol is None else {"ftol": settings.ftol}),
            timeout_sec=settings.timeout_sec,
            # one problem over all starts: the parallel mode evaluates subsets
            # of the batch, whose codes the wrapper could not tell
            use_parallel_mode=False,
        )


def _best_combinations(
    acquisition: AcquisitionFunction,
    space: SearchSpace,
    combos: list[dict[int, float]],
    q: int,
) -> Tensor:
    """Sequential greedy choice among whole points (a space of categoricals only)."""
    X = torch.zeros(len(combos), space.dim, dtype=DTYPE)
    for i, combo in enumerate(combos):
        for column, value in combo.items():
            X[i, column] = value
    base_pending = acquisition.X_pending
    chosen: list[Tensor] = []
    free = torch.ones(len(X), dtype=torch.bool)
    for _ in range(min(q, len(X))):
        with torch.no_grad():
            values = acquisition(X.unsqueeze(-2))
        values[~free] = -math.inf
        best = int(values.argmax())
        free[best] = False
        chosen.append(X[best : best + 1])
        acquisition.set_X_pending(torch.cat([p for p in (base_pending, *chosen) if p is not None]))
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


__all__ = [
    "JOINT_CANDIDATES",
    "assemble",
    "optimize_mixed",
    "optimize_mixed_batched",
    "optimize_mixed_joint",
    "promising_combinations",
]

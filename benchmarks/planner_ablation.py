"""Pool-mode ablations: which part of the planner makes it slower than a plain BoTorch loop.

    python benchmarks/planner_ablation.py --datasets crossed_barrel --seeds 20
    python benchmarks/planner_ablation.py --variants plain,planner,planner_rbf

Each *variant* runs the pool-mode protocol of ``planner_benchmark.py`` (the
planner's own initial design counts against the budget; experiments until the
first top-1 % row, censored at budget + 1) on the same seeds. Variants:

* ``plain``: the 25-line loop issue 17 measured: one-hot inputs, BoTorch's
  ``SingleTaskGP`` (its default kernel and priors) with ``Normalize`` and
  ``Standardize``, analytic ``LogExpectedImprovement`` over the unused pool
  rows, five random starting rows, a fresh fit every step.
* ``plain_*``: the same loop with one part changed (``plain_sobol``: the
  planner's Sobol design snapped to the pool instead of random rows;
  ``plain_matern``: the planner's Matern-Gamma kernel; ``plain_nei``:
  ``qLogNoisyExpectedImprovement`` as the planner; ``plain_design8``: eight
  starting rows).
* ``planner``: :class:`~smartlab_kernel.planner.Planner` with its defaults;
  ``planner_*``: with one keyword changed (see :data:`PLANNER_VARIANTS`).

Prints the median and IQR per variant and dataset, and per-seed wins against
``plain``; writes JSON (default ``benchmarks/results/planner_ablation.json``).
The findings are written up in ``docs/planner/ablations.md``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.planner_benchmark import first_hit, pool_lookup, row_key
from benchmarks.planner_datasets import Dataset, load
from smartlab_kernel.planner import Planner
from smartlab_kernel.planner.space import SearchSpace

RESULTS = Path(__file__).parent / "results" / "planner_ablation.json"

#: Planner keyword changes, by variant name.
PLANNER_VARIANTS: dict[str, dict[str, Any]] = {
    "planner": {},
    "planner_rbf": {"kernel": "dimension_scaled"},
    "planner_matern": {"kernel": "matern_gamma"},
    "planner_center": {"design_center": True},
    "planner_design8": {"initial_design": 8},
    "planner_design2": {"initial_design": 2},
    "planner_design3": {"initial_design": 3},
    "planner_rdkit": {"substances": "rdkit"},
    "planner_morgan": {"substances": "morgan"},
    "planner_rdkit_matern": {"substances": "rdkit", "kernel": "matern_gamma"},
    "planner_sample": {"pool_design": "sample"},
    "planner_onehot_matern": {"kernel": "matern_gamma"},
    # BayBE's model, one part at a time (2026-12-05)
    "planner_design1": {"initial_design": 1},
    "planner_matern_scaled": {"kernel": "matern_scaled"},
    "planner_design1_matern_scaled": {"initial_design": 1, "kernel": "matern_scaled"},
    "planner_scratch": {"patch": "scratch"},
    "planner_logei": {"patch": "logei"},
    "planner_design1_scratch": {"initial_design": 1, "patch": "scratch"},
    "planner_design1_logei": {"initial_design": 1, "patch": "logei"},
    "planner_baybe_model": {"kernel": "matern_scaled", "patch": "scratch+logei"},
    "planner_baybe_like": {
        "initial_design": 1,
        "kernel": "matern_scaled",
        "patch": "scratch+logei",
    },
    # far-apart starting rows (2026-12-05): A, a random row and the row farthest
    # from it; B, greedy max-min of three rows; C, the one-row start with BayBE's
    # kernel and fits from scratch, as planner options
    "planner_farthest": {"pool_design": "maxmin"},
    "planner_maxmin3": {"pool_design": "maxmin", "initial_design": 3},
    "planner_design1_baybe_kernel_scratch": {
        "initial_design": 1,
        "kernel": "matern_scaled",
        "model_fit": "scratch",
    },
    # one lengthscale per parameter, not per one-hot column (2026-12-05)
    "planner_per_parameter": {"kernel": "per_parameter"},
    "planner_rdkit_per_parameter": {"substances": "rdkit", "kernel": "per_parameter"},
    # one-hot codes followed by the RDKit descriptors (2026-12-05)
    "planner_rdkit_onehot": {"substances": "rdkit+onehot"},
    # the one-hot model plus the RDKit-descriptor model, summed (2026-12-05)
    "planner_rdkit_additive": {"substances": "rdkit+onehot", "patch": "identity_plus_structure"},
    # hyperparameter fits that stop once the likelihood stops improving (2026-12-06)
    "planner_fit_ftol": {"patch": "fit_ftol"},
    "planner_fit_converge": {"patch": "fit_converge"},
}

#: The ``"fit_ftol"`` patch's relative tolerance (scipy's L-BFGS-B ``ftol``).
FIT_FTOL = 1e-6
#: The ``"fit_converge"`` patch's most L-BFGS-B steps per fit.
FIT_CONVERGE_STEPS = 1000

#: Changes to the plain loop, by variant name.
PLAIN_VARIANTS: dict[str, dict[str, Any]] = {
    "plain": {},
    "plain_sobol": {"design": "sobol"},
    "plain_matern": {"kernel": "matern_gamma"},
    "plain_nei": {"acquisition": "qlognei"},
    "plain_design8": {"n_design": 8},
    "plain_spacebounds": {"bounds": "space"},
}


@contextmanager
def engine_patch(kind: str | None) -> Iterator[None]:
    """Swap one part of the planner's engine for an ablation (``None``: nothing).

    * ``"scratch"``: every outcome-model fit starts from the priors' modes
      instead of the previous fit's hyperparameters (BayBE refits from scratch);
    * ``"logei"``: ``qLogExpectedImprovement`` with the best observed value as
      the incumbent (BayBE's default) instead of ``qLogNoisyExpectedImprovement``;
    * ``"fit_ftol"``: every L-BFGS-B fit of the model's hyperparameters stops
      once an iteration improves the loss (the negative marginal log
      likelihood per observation) by less than :data:`FIT_FTOL` times its
      magnitude, or times 1 below 1 (scipy's ``ftol``; its default is 2.2e-9);
    * ``"fit_converge"``: every such fit runs until scipy's own tests stop it
      (at most :data:`FIT_CONVERGE_STEPS` steps), not at the planner's cap of 75
      steps for warm-started fits;
    * several joined by ``+`` (``"scratch+logei"``).
    """
    if kind is None:
        yield
        return
    from smartlab_kernel.planner import engine

    saved: dict[str, Callable[..., Any]] = {
        "fit_outcome_model": engine.fit_outcome_model,
        "build": engine.build_acquisition,
    }
    kinds = set(kind.split("+"))
    if not kinds <= {"scratch", "logei", "fit_ftol", "fit_converge"}:
        raise SystemExit(f"unknown engine patch {kind!r}")
    from smartlab_kernel.planner import model as planner_model

    saved_mll_fit = planner_model.fit_gpytorch_mll
    if kinds & {"fit_ftol", "fit_converge"}:
        changes: dict[str, Any] = {}
        if "fit_ftol" in kinds:
            changes["ftol"] = FIT_FTOL
        if "fit_converge" in kinds:
            changes["maxiter"] = FIT_CONVERGE_STEPS

        def fit_changed(mll: Any, optimizer_kwargs: dict[str, Any], **kw: Any) -> Any:
            options = {**optimizer_kwargs.get("options", {}), **changes}
            return saved_mll_fit(mll, optimizer_kwargs={**optimizer_kwargs, "options": options})

        planner_model.fit_gpytorch_mll = fit_changed  # type: ignore[assignment]
    if "scratch" in kinds:
        real_fit = engine.fit_outcome_model

        def fit_from_scratch(X: Any, Y: Any, bounds: Any, warm_start: Any, *rest: Any) -> Any:
            return real_fit(X, Y, bounds, None, *rest)

        engine.fit_outcome_model = fit_from_scratch  # type: ignore[assignment]
    if "logei" in kinds:
        from botorch.acquisition.logei import qLogExpectedImprovement
        from botorch.sampling import SobolQMCNormalSampler

        def build_logei(model: Any, X_baseline: Any, X_pending: Any, seed: int, **kw: Any) -> Any:
            if model.num_outputs != 1 or kw.get("feasibility_model") is not None:
                return saved["build"](model, X_baseline, X_pending, seed, **kw)
            Y = model.outcome_transform.untransform(model.train_targets.unsqueeze(-1))[0]
            sampler = SobolQMCNormalSampler(torch.Size([kw.get("mc_samples", 128)]), seed=seed)
            return qLogExpectedImprovement(
                model, best_f=float(Y.max()), sampler=sampler, X_pending=X_pending
            )

        engine.build_acquisition = build_logei  # type: ignore[assignment]
    try:
        yield
    finally:
        engine.fit_outcome_model = saved["fit_outcome_model"]
        engine.build_acquisition = saved["build"]
        planner_model.fit_gpytorch_mll = saved_mll_fit


def _pool(ds: Dataset) -> tuple[list[dict[str, Any]], np.ndarray]:
    """The pool's distinct rows and their first objective, signed so larger is better."""
    lookup = pool_lookup(ds)
    rows = [dict(zip(ds.parameter_names, key, strict=True)) for key in lookup]
    return rows, np.array([v[0] for v in lookup.values()])


def planner_run(
    ds: Dataset,
    seed: int,
    budget: int,
    substances: str | None = None,
    stop_at: float | None = None,
    **options: Any,
) -> np.ndarray:
    """Signed objective values of the planner's choices, in order (with ``stop_at``,
    up to the first value at least ``stop_at``)."""
    lookup = pool_lookup(ds)
    patch = options.pop("patch", None)
    planner = Planner(
        ds.parameters(substances),
        ds.objectives(),
        candidates=ds.frame[ds.parameter_names],
        seed=seed,
        **options,
    )
    sign = ds.signs()[0]
    values: list[float] = []
    with ExitStack() as stack:
        if patch == "identity_plus_structure":
            from benchmarks.identity_plus_structure import identity_plus_structure

            stack.enter_context(identity_plus_structure(ds.parameters(substances)))
        else:
            stack.enter_context(engine_patch(patch))
        while len(values) < budget:
            suggestions = planner.suggest(1)
            if not suggestions:
                break
            y = float(lookup[row_key(suggestions[0].params, ds.parameter_names)][0])
            planner.observe(suggestions[0], {ds.objective_names[0]: y * sign})
            values.append(y)
            if stop_at is not None and y >= stop_at - 1e-12:
                break
    return np.array(values)


def plain_run(
    ds: Dataset,
    seed: int,
    budget: int,
    design: str = "random",
    kernel: str = "default",
    acquisition: str = "logei",
    n_design: int = 5,
    bounds: str = "data",
    stop_at: float | None = None,
) -> np.ndarray:
    """The plain BoTorch loop (see the module docstring), with one part swappable."""
    from botorch.acquisition import LogExpectedImprovement, qLogNoisyExpectedImprovement
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import SingleTaskGP
    from botorch.models.transforms import Normalize, Standardize
    from gpytorch.mlls import ExactMarginalLogLikelihood

    from smartlab_kernel.planner.design import initial_design, nearest_unused
    from smartlab_kernel.planner.model import make_kernel

    rows, values = _pool(ds)
    space = SearchSpace(ds.parameters())
    X = space.encode(rows)
    d = X.shape[-1]
    lows = X.min(dim=0).values if bounds == "data" else space.bounds[0]
    highs = X.max(dim=0).values if bounds == "data" else space.bounds[1]
    box = torch.stack([lows, torch.maximum(highs, lows + 1e-9)])
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    if design == "sobol":
        points = space.encode(initial_design(space, seed, 0, n_design, center=False))
        picks = nearest_unused(points, X, torch.ones(len(X), dtype=torch.bool), space.bounds)
    else:
        picks = [int(i) for i in rng.choice(len(X), n_design, replace=False)]
    chosen = list(picks)
    while len(chosen) < min(budget, len(X)):
        if stop_at is not None and values[chosen].max() >= stop_at - 1e-12:
            break
        train_X = X[chosen]
        train_Y = torch.tensor(values[chosen], dtype=X.dtype).unsqueeze(-1)  # signed: maximise
        model = SingleTaskGP(
            train_X,
            train_Y,
            covar_module=None if kernel == "default" else make_kernel(kernel, d),  # type: ignore[arg-type]
            input_transform=Normalize(d=d, bounds=box),
            outcome_transform=Standardize(m=1),
        )
        fit_gpytorch_mll(ExactMarginalLogLikelihood(model.likelihood, model))
        free = torch.ones(len(X), dtype=torch.bool)
        free[chosen] = False
        candidates = torch.nonzero(free).flatten()
        acqf: LogExpectedImprovement | qLogNoisyExpectedImprovement
        if acquisition == "logei":
            acqf = LogExpectedImprovement(model, best_f=float(train_Y.max()))
        else:
            acqf = qLogNoisyExpectedImprovement(model, train_X, prune_baseline=True)
        with torch.no_grad():
            scores = torch.cat([acqf(X[part].unsqueeze(1)) for part in candidates.split(2048)])
        chosen.append(int(candidates[int(scores.argmax())]))
    trace = values[chosen][:budget]
    if stop_at is not None and (trace >= stop_at - 1e-12).any():
        trace = trace[: int(np.flatnonzero(trace >= stop_at - 1e-12)[0]) + 1]
    return trace


def plain_mo_run(ds: Dataset, seed: int, budget: int, n_design: int = 5) -> np.ndarray:
    """The plain loop for several objectives: one-hot inputs, one ``SingleTaskGP``
    with an output per objective (BoTorch's default kernel and priors, ``Normalize``
    and ``Standardize``), ``qLogExpectedHypervolumeImprovement`` over the unused
    pool rows (the observed front as the incumbent; the noisy variant costs about
    13 s a step over 1408 rows) with the reference point a tenth of the observed
    range below the worst observed value of each objective, five random starting
    rows, a fresh fit every step.

    Returns the signed (larger is better) objective rows chosen, in order.
    """
    from botorch.acquisition.multi_objective.logei import qLogExpectedHypervolumeImprovement
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import SingleTaskGP
    from botorch.models.transforms import Normalize, Standardize
    from botorch.sampling import SobolQMCNormalSampler
    from botorch.utils.multi_objective.box_decompositions.non_dominated import (
        FastNondominatedPartitioning,
    )
    from gpytorch.mlls import ExactMarginalLogLikelihood

    lookup = pool_lookup(ds)
    rows = [dict(zip(ds.parameter_names, key, strict=True)) for key in lookup]
    values = np.array(list(lookup.values()))  # signed, n x m
    space = SearchSpace(ds.parameters())
    X = space.encode(rows)
    d, m = X.shape[-1], values.shape[1]
    lows, highs = X.min(dim=0).values, X.max(dim=0).values
    box = torch.stack([lows, torch.maximum(highs, lows + 1e-9)])
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    chosen = [int(i) for i in rng.choice(len(X), n_design, replace=False)]
    while len(chosen) < min(budget, len(X)):
        train_X = X[chosen]
        train_Y = torch.tensor(values[chosen], dtype=X.dtype)
        model = SingleTaskGP(
            train_X,
            train_Y,
            input_transform=Normalize(d=d, bounds=box),
            outcome_transform=Standardize(m=m),
        )
        fit_gpytorch_mll(ExactMarginalLogLikelihood(model.likelihood, model))
        span = (train_Y.max(dim=0).values - train_Y.min(dim=0).values).clamp_min(1e-9)
        ref_point = train_Y.min(dim=0).values - 0.1 * span
        acqf = qLogExpectedHypervolumeImprovement(
            model,
            ref_point=ref_point,
            partitioning=FastNondominatedPartitioning(ref_point=ref_point, Y=train_Y),  # type: ignore[arg-type]
            sampler=SobolQMCNormalSampler(sample_shape=torch.Size([128]), seed=seed),
        )
        free = torch.ones(len(X), dtype=torch.bool)
        free[chosen] = False
        candidates = torch.nonzero(free).flatten()
        with torch.no_grad():
            scores = torch.cat([acqf(X[part].unsqueeze(1)) for part in candidates.split(512)])
        chosen.append(int(candidates[int(scores.argmax())]))
    return values[chosen][:budget]


def baybe_run(
    ds: Dataset, seed: int, budget: int, substances: bool = False, stop_at: float | None = None
) -> np.ndarray:
    """BayBE's ``Campaign`` with its defaults over the pool (``SearchSpace.from_dataframe``).

    Numeric columns become ``NumericalDiscreteParameter`` over the pool's
    values, categorical ones ``CategoricalParameter`` (one-hot), or with
    ``substances`` a ``SubstanceParameter`` when every level is a SMILES.
    Needs ``pip install baybe`` (``bench`` extra).
    """
    from baybe import Campaign
    from baybe.targets import NumericalTarget

    _baybe_seed(seed)
    lookup = pool_lookup(ds)
    objective = ds.objective_names[0]
    target = NumericalTarget(
        objective, minimize=bool(ds.signs()[0] < 0), _enforce_modern_interface=True
    )
    campaign = Campaign(_baybe_pool(ds, substances), target.to_objective())
    values: list[float] = []
    while len(values) < budget:
        chosen = campaign.recommend(batch_size=1)
        y = lookup[row_key(_row_params(ds, chosen), ds.parameter_names)]  # signed
        chosen[objective] = float(y[0]) * float(ds.signs()[0])  # BayBE gets the measured value
        campaign.add_measurements(chosen)
        values.append(float(y[0]))
        if stop_at is not None and y[0] >= stop_at - 1e-12:
            break
    return np.array(values)


def baybe_mo_run(ds: Dataset, seed: int, budget: int) -> np.ndarray:
    """BayBE's ``Campaign`` with its defaults and a ``ParetoObjective`` of every objective
    over the pool (its multi-objective acquisition, qLogNEHVI, from BayBE's defaults).

    Returns the signed (larger is better) objective rows chosen, in order.
    """
    from baybe import Campaign
    from baybe.objectives import ParetoObjective
    from baybe.targets import NumericalTarget

    _baybe_seed(seed)
    lookup = pool_lookup(ds)
    signs = ds.signs()
    targets = [
        NumericalTarget(name, minimize=bool(sign < 0), _enforce_modern_interface=True)
        for name, sign in zip(ds.objective_names, signs, strict=True)
    ]
    campaign = Campaign(_baybe_pool(ds, substances=False), ParetoObjective(targets))
    rows: list[np.ndarray] = []
    while len(rows) < budget:
        chosen = campaign.recommend(batch_size=1)
        y = lookup[row_key(_row_params(ds, chosen), ds.parameter_names)]  # signed
        for name, value, sign in zip(ds.objective_names, y, signs, strict=True):
            chosen[name] = float(value) * float(sign)  # BayBE gets the measured values
        campaign.add_measurements(chosen)
        rows.append(np.asarray(y, dtype=float))
    return np.array(rows)


def _baybe_seed(seed: int) -> None:
    import logging

    from baybe.utils.random import set_random_seed

    logging.getLogger("baybe").setLevel(logging.ERROR)
    set_random_seed(seed)


def _baybe_pool(ds: Dataset, substances: bool) -> Any:
    """BayBE's search space of the pool's rows (``SearchSpace.from_dataframe``)."""
    from baybe.parameters import (
        CategoricalParameter,
        NumericalDiscreteParameter,
        SubstanceParameter,
    )
    from baybe.searchspace import SearchSpace as BayBESpace

    frame = ds.frame[ds.parameter_names].drop_duplicates().reset_index(drop=True)
    parameters: list[Any] = []
    for spec in ds.spec["parameters"]:
        name = spec["name"]
        if spec["type"] == "categorical":
            levels = sorted(frame[name].astype(str).unique())
            if substances and all(_smiles(level) for level in levels):
                parameters.append(SubstanceParameter(name=name, data={v: v for v in levels}))
            else:
                parameters.append(CategoricalParameter(name=name, values=levels))
        else:
            levels_num = sorted(float(v) for v in frame[name].unique())
            parameters.append(NumericalDiscreteParameter(name=name, values=levels_num))
    return BayBESpace.from_dataframe(frame, parameters)


def _row_params(ds: Dataset, chosen: Any) -> dict[str, Any]:
    """The parameters of BayBE's one recommended row (a DataFrame), as the pool's keys."""
    row = chosen.iloc[0]
    return {n: row[n] if isinstance(row[n], str) else float(row[n]) for n in ds.parameter_names}


def _smiles(text: str) -> bool:
    from benchmarks.planner_datasets import _is_smiles

    return _is_smiles(text)


def variant_runner(name: str) -> Callable[..., np.ndarray]:
    """The run function of a variant name: ``run(ds, seed, budget, stop_at=None)``;
    with ``stop_at`` a run ends at its first value at least ``stop_at`` (signed)."""
    if name in ("baybe", "baybe_substances"):
        return lambda ds, seed, budget, stop_at=None: baybe_run(
            ds, seed, budget, name == "baybe_substances", stop_at=stop_at
        )
    if name in PLANNER_VARIANTS:
        options = PLANNER_VARIANTS[name]
        return lambda ds, seed, budget, stop_at=None: planner_run(
            ds, seed, budget, stop_at=stop_at, **dict(options)
        )
    if name in PLAIN_VARIANTS:
        options = PLAIN_VARIANTS[name]
        return lambda ds, seed, budget, stop_at=None: plain_run(
            ds, seed, budget, stop_at=stop_at, **options
        )
    known = sorted(PLANNER_VARIANTS) + sorted(PLAIN_VARIANTS)
    raise SystemExit(f"unknown variant {name!r}; known: {', '.join(known)}")


TRANSFER_ARMS = ("no_transfer", "transfer", "transfer_best_start")


def transfer_study(
    seeds: list[int],
    budget: int,
    substances: str | None = None,
    arms: Sequence[str] = TRANSFER_ARMS[:2],
) -> dict[str, Any]:
    """buchwald_a split by aryl halide: optimise one halide's 264 rows, with or without
    the other two halides' full results as ``history`` (two earlier campaigns).

    Arms: ``no_transfer``; ``transfer`` (history, the planner's own design);
    ``transfer_best_start`` (history, and the first experiments are each
    earlier campaign's best row, observed before the planner suggests, so the
    planner's design is already full). Each run ends at its first top-1 % row.

    Returns, per target halide and per arm, the experiments to the first
    top-1 % row of that halide's rows (censored at ``budget + 1``).
    """
    ds = load("buchwald_a")
    frame = ds.frame
    split = "aryl_halide"
    objective = ds.objective_names[0]
    names = [n for n in ds.parameter_names if n != split]
    parameters = [p for p in ds.parameters(substances) if p.name != split]
    out: dict[str, Any] = {}
    for halide in sorted(frame[split].unique()):
        pool = frame[frame[split] == halide].reset_index(drop=True)
        values = pool[objective].to_numpy(float)
        k = max(1, round(0.01 * len(values)))
        threshold = float(np.sort(values)[::-1][k - 1])
        lookup = {tuple(r[n] for n in names): float(r[objective]) for _, r in pool.iterrows()}
        others = [
            frame[frame[split] == other][[*names, objective]].reset_index(drop=True)
            for other in sorted(frame[split].unique())
            if other != halide
        ]
        results: dict[str, Any] = {}
        for arm in arms:
            history = [] if arm == "no_transfer" else others
            hits = []
            for seed in seeds:
                planner = Planner(
                    parameters, ds.objectives(), candidates=pool[names], seed=seed, history=history
                )
                trace: list[float] = []
                if arm == "transfer_best_start":
                    started: set[tuple[Any, ...]] = set()
                    for earlier in history:
                        best = earlier.loc[earlier[objective].idxmax(), names].to_dict()
                        key = tuple(best[n] for n in names)
                        if len(trace) < budget and key not in started:
                            started.add(key)
                            planner.observe(best, {objective: lookup[key]})
                            trace.append(lookup[key])
                while len(trace) < budget and max(trace, default=-np.inf) < threshold:
                    [s] = planner.suggest(1)
                    y = lookup[tuple(s.params[n] for n in names)]
                    planner.observe(s, {objective: y})
                    trace.append(y)
                hits.append(first_hit(np.array(trace), threshold))
            results[arm] = {
                "experiments_to_top1pct": hits,
                "median": float(np.median(hits)),
                "iqr": [float(np.percentile(hits, 25)), float(np.percentile(hits, 75))],
            }
            print(
                f"transfer {halide[:24]:24s} {arm:19s} median {np.median(hits):5.1f} "
                f"IQR {results[arm]['iqr']} per seed {hits}",
                flush=True,
            )
        if "no_transfer" in results:
            base = np.array(results["no_transfer"]["experiments_to_top1pct"])
            for arm in arms:
                if arm == "no_transfer":
                    continue
                mine = np.array(results[arm]["experiments_to_top1pct"])
                results[arm]["ratio_of_medians"] = float(np.median(base) / np.median(mine))
                results[arm]["wins_ties_losses"] = [
                    int((mine < base).sum()),
                    int((mine == base).sum()),
                    int((mine > base).sum()),
                ]
        out[halide] = results
    return out


def compare_with_reference(
    name: str, per_variant: dict[str, Any], path: Path, censored_at: int
) -> None:
    """Per-seed wins/ties/losses of each variant against the methods of a benchmark file
    (or of an ablation file, whose variants count as methods).

    Adds ``vs_reference[method]`` (seeds in common, both medians and means,
    W/T/L: fewer / as many / more experiments than ``method``) to each variant.
    """
    data = json.loads(path.read_text())
    if "pool" in data:
        pool = data["pool"].get(name, {})
    else:  # an ablation file: its variants are the methods, all censored at budget + 1
        pool = {
            variant: {**res, "censored_at": data["budget"] + 1}
            for variant, res in data.get("results", {}).get(name, {}).items()
        }
    if "random_expected_mean" in pool:  # random's (N+1)/(k+1) over each variant's median
        for variant, res in per_variant.items():
            speedup = pool["random_expected_mean"] / res["median"]
            res["acceleration_vs_random_expected"] = speedup
            print(
                f"{name:15s} {variant:18s} acceleration {speedup:.1f}x "
                f"(random (N+1)/(k+1) = {pool['random_expected_mean']:.1f})",
                flush=True,
            )
    for method, ref in pool.items():
        if not isinstance(ref, dict) or "experiments_to_top1pct" not in ref:
            continue
        if ref.get("censored_at") != censored_at:
            print(f"  reference {method} has another budget; not compared", flush=True)
            continue
        theirs_by_seed = dict(zip(ref["seeds"], ref["experiments_to_top1pct"], strict=True))
        for variant, res in per_variant.items():
            mine_by_seed = dict(zip(res["seeds"], res["experiments_to_top1pct"], strict=True))
            common = sorted(set(mine_by_seed) & set(theirs_by_seed))
            if not common:
                continue
            mine = np.array([mine_by_seed[s] for s in common])
            theirs = np.array([theirs_by_seed[s] for s in common])
            res.setdefault("vs_reference", {})[method] = {
                "seeds": common,
                "median": float(np.median(mine)),
                "mean": float(np.mean(mine)),
                "reference_median": float(np.median(theirs)),
                "reference_mean": float(np.mean(theirs)),
                "wins_ties_losses": [
                    int((mine < theirs).sum()),
                    int((mine == theirs).sum()),
                    int((mine > theirs).sum()),
                ],
            }
            w, t, losses = res["vs_reference"][method]["wins_ties_losses"]
            print(
                f"{name:15s} {variant:18s} vs {method:8s} ({len(common)} seeds): "
                f"median {np.median(mine):5.1f} vs {np.median(theirs):5.1f}, "
                f"mean {np.mean(mine):5.1f} vs {np.mean(theirs):5.1f}, W/T/L {w}/{t}/{losses}",
                flush=True,
            )


def compare_with_variant(name: str, per_variant: dict[str, Any], baseline: str) -> None:
    """Per-seed wins/ties/losses of every variant against the variant ``baseline``
    (e.g. the default of the day), on the seeds both ran; adds ``vs_<baseline>``."""
    if baseline not in per_variant:
        return
    base = dict(
        zip(
            per_variant[baseline]["seeds"],
            per_variant[baseline]["experiments_to_top1pct"],
            strict=True,
        )
    )
    for variant, res in per_variant.items():
        if variant == baseline:
            continue
        mine_by_seed = dict(zip(res["seeds"], res["experiments_to_top1pct"], strict=True))
        common = sorted(set(mine_by_seed) & set(base))
        mine = np.array([mine_by_seed[s] for s in common])
        theirs = np.array([base[s] for s in common])
        wtl = [int((mine < theirs).sum()), int((mine == theirs).sum()), int((mine > theirs).sum())]
        res[f"vs_{baseline}"] = {"seeds": common, "wins_ties_losses": wtl}
        print(
            f"{name:15s} {variant:30s} vs {baseline} ({len(common)} seeds): "
            f"median {np.median(mine):5.1f} vs {np.median(theirs):5.1f}, "
            f"mean {np.mean(mine):5.1f} vs {np.mean(theirs):5.1f}, "
            f"W/T/L {wtl[0]}/{wtl[1]}/{wtl[2]}",
            flush=True,
        )


def combine(
    paths: list[Path], reference: list[Path] | None, output: Path, versus: str | None = None
) -> int:
    """Combine ablation files (same budget) and compare every variant with ``reference``
    (a benchmark file) and with the variant ``versus``."""
    parts = [json.loads(path.read_text()) for path in paths]
    budgets = {part["budget"] for part in parts}
    if len(budgets) != 1:
        raise SystemExit(f"files of different budgets: {sorted(budgets)}")
    report: dict[str, Any] = {
        "benchmark": "planner_ablation",
        "combined_from": [str(path) for path in paths],
        "budget": budgets.pop(),
        "results": {},
    }
    for part in parts:
        for name, per_variant in part["results"].items():
            report["results"].setdefault(name, {}).update(per_variant)
    for name, per_variant in report["results"].items():
        for variant, res in per_variant.items():
            print(
                f"{name:15s} {variant:18s} median {res['median']:5.1f} IQR {res['iqr']} "
                f"mean {np.mean(res['experiments_to_top1pct']):5.1f}",
                flush=True,
            )
        for path in reference or ():
            compare_with_reference(name, per_variant, path, report["budget"] + 1)
        if versus is not None:
            compare_with_variant(name, per_variant, versus)
    output.write_text(json.dumps(report, indent=1))
    print(f"wrote {output}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="crossed_barrel")
    parser.add_argument("--variants", default="plain,planner,planner_rbf")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--budget", type=int, default=60)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument(
        "--transfer", action="store_true", help="the buchwald_a aryl-halide transfer study"
    )
    parser.add_argument(
        "--combine",
        nargs="+",
        type=Path,
        default=None,
        help="ablation JSON files to combine (variants per dataset) into --output, "
        "compared with --reference; nothing is run",
    )
    parser.add_argument(
        "--reference",
        type=Path,
        nargs="+",
        default=None,
        help="planner_benchmark.py pool JSON files (same budget): each variant is also "
        "compared, seed by seed, with each file's methods (planner, plain, baybe); an "
        "ablation JSON's variants count as methods (e.g. planner_design2, the default)",
    )
    parser.add_argument(
        "--versus",
        default=None,
        help="with --combine: also compare every variant seed by seed with this variant",
    )
    parser.add_argument("--substances", default=None, help="rdkit or morgan (transfer study)")
    parser.add_argument(
        "--transfer-arms",
        default="no_transfer,transfer",
        help=f"transfer-study arms (comma-separated): {', '.join(TRANSFER_ARMS)}",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    if args.transfer:
        study = {
            "benchmark": "planner_transfer",
            "machine": {"platform": platform.platform(), "python": platform.python_version()},
            "seeds": seeds,
            "budget": args.budget,
            "substances": args.substances,
            "arms": args.transfer_arms.split(","),
            "results": transfer_study(
                seeds, args.budget, args.substances, args.transfer_arms.split(",")
            ),
        }
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(study, indent=1))
        print(f"wrote {args.output}")
        return 0
    if args.combine:
        return combine(args.combine, args.reference, args.output, args.versus)
    variants = args.variants.split(",")
    runners = {v: variant_runner(v) for v in variants}
    report: dict[str, Any] = {
        "benchmark": "planner_ablation",
        "machine": {"platform": platform.platform(), "python": platform.python_version()},
        "seeds": seeds,
        "budget": args.budget,
        "results": {},
    }
    for name in args.datasets.split(","):
        ds = load(name)
        _, signed = _pool(ds)  # signed: larger is better
        k = max(1, round(0.01 * len(signed)))
        threshold = float(np.sort(signed)[::-1][k - 1])
        per_variant: dict[str, Any] = {}
        for variant, run in runners.items():
            hits, seconds = [], []
            for seed in seeds:
                began = time.perf_counter()
                # a run ends at its first top-1 % row: the metric is the same, sooner
                hits.append(first_hit(run(ds, seed, args.budget, stop_at=threshold), threshold))
                seconds.append(time.perf_counter() - began)
            per_variant[variant] = {
                "seeds": seeds,
                "experiments_to_top1pct": hits,
                "mean": float(np.mean(hits)),
                "median": float(np.median(hits)),
                "iqr": [float(np.percentile(hits, 25)), float(np.percentile(hits, 75))],
                "mean_s_per_run": float(np.mean(seconds)),
            }
            print(
                f"{name:15s} {variant:18s} median {np.median(hits):5.1f} "
                f"IQR {per_variant[variant]['iqr']} ({np.mean(seconds):.0f} s/run)",
                flush=True,
            )
            report["results"][name] = per_variant
            args.output.parent.mkdir(parents=True, exist_ok=True)
            args.output.write_text(json.dumps(report, indent=1))
        for path in args.reference or ():
            compare_with_reference(name, per_variant, path, args.budget + 1)
        if "plain" in per_variant:
            base = np.array(per_variant["plain"]["experiments_to_top1pct"])
            for res in per_variant.values():
                mine = np.array(res["experiments_to_top1pct"])
                res["wins_ties_losses_vs_plain"] = [
                    int((mine < base).sum()),
                    int((mine == base).sum()),
                    int((mine > base).sum()),
                ]
        args.output.write_text(json.dumps(report, indent=1))
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

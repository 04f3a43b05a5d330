"""Benchmark of the experiment planner on real lab datasets (../shared/benchmarks/README.md).

    python benchmarks/planner_benchmark.py            # full run
    python benchmarks/planner_benchmark.py --quick    # CI: few seeds, small budgets

Prints a table, writes JSON (default benchmarks/results/planner.json) and a PNG
of best-so-far curves next to it.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import platform
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.quasirandom import SobolEngine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.planner_datasets import ALL, Dataset, DatasetResponse, load
from smartlab_kernel.planner import Objective, Planner, Real

CONTINUOUS = ["crossed_barrel", "hplc", "photo_pce10"]


def signed_values(ds: Dataset) -> np.ndarray:
    return ds.frame[ds.objective_names].to_numpy(float) * ds.signs()


def row_key(params: dict[str, Any], names: list[str]) -> tuple:
    return tuple(params[n] if isinstance(params[n], str) else float(params[n]) for n in names)


# ---------------------------------------------------------------- pool mode
def pool_lookup(ds: Dataset) -> dict[tuple, np.ndarray]:
    groups: dict[tuple, list[np.ndarray]] = {}
    Y = signed_values(ds)
    for row, y in zip(ds.frame[ds.parameter_names].to_dict("records"), Y, strict=True):
        groups.setdefault(row_key(row, ds.parameter_names), []).append(y)
    return {k: np.mean(v, axis=0) for k, v in groups.items()}


def pool_planner_run(
    ds: Dataset,
    seed: int,
    budget: int,
    stop_at: float | None = None,
    substances: str | None = None,
    **options: Any,
) -> np.ndarray:
    lookup = pool_lookup(ds)
    planner = Planner(
        ds.parameters(substances),
        ds.objectives(),
        candidates=ds.frame[ds.parameter_names],
        seed=seed,
        **options,
    )
    chosen = []
    while len(chosen) < budget:
        suggestions = planner.suggest(1)
        if not suggestions:
            break
        s = suggestions[0]
        y = lookup[row_key(s.params, ds.parameter_names)]
        planner.observe(
            s,
            {
                o: float(v) * sgn
                for o, v, sgn in zip(ds.objective_names, y, ds.signs(), strict=True)
            },
        )
        chosen.append(y)
        if stop_at is not None and y[0] >= stop_at - 1e-12:
            break
    return np.array(chosen)


def _identity_plus_structure_run(ds: Dataset, seed: int, budget: int) -> np.ndarray:
    from benchmarks.identity_plus_structure import identity_plus_structure

    with identity_plus_structure(ds.parameters("descriptors+onehot")):
        return pool_planner_run(ds, seed, budget, substances="descriptors+onehot")


def pool_random_run(
    ds: Dataset, seed: int, budget: int, stop_at: float | None = None
) -> np.ndarray:
    values = np.array(list(pool_lookup(ds).values()))
    order = np.random.default_rng(10_000 + seed).permutation(len(values))
    return values[order[:budget]]


def first_hit(trace: np.ndarray, threshold: float) -> int:
    hits = np.flatnonzero(trace >= threshold - 1e-12)
    return int(hits[0]) + 1 if len(hits) else len(trace) + 1


def percentile(value: float, all_values: np.ndarray) -> float:
    return float((all_values <= value + 1e-12).mean() * 100)


def pool_methods(names: list[str]) -> list[tuple[str, Any]]:
    """Run functions of the pool-mode methods: planner, random, and the comparators
    of ``planner_ablation.py`` (``plain``: a plain BoTorch loop; ``baybe``:
    BayBE's defaults, needs ``pip install baybe``)."""
    from benchmarks.planner_ablation import variant_runner

    own = {"planner": pool_planner_run, "random": pool_random_run}
    return [(name, own.get(name) or variant_runner(name)) for name in names]


def pool_single(
    ds: Dataset,
    seeds: list[int],
    budget: int,
    methods: list[str] | None = None,
    stop_at_top: set[str] | None = None,
) -> dict[str, Any]:
    """Pool mode, one objective: experiments to the first top-1 % row per method and seed.

    Methods in ``stop_at_top`` end a run at its first top-1 % row (for slow
    comparators: the first metric is the same, the best-value percentiles
    after 20 and 50 experiments are then lower bounds)."""
    values = np.array(list(pool_lookup(ds).values()))[:, 0]
    n = len(values)
    k = max(1, round(0.01 * n))
    threshold = float(np.sort(values)[::-1][k - 1])
    n_top = int((values >= threshold - 1e-12).sum())
    out: dict[str, Any] = {"rows": n, "unique_rows": n, "top_rows": n_top, "threshold": threshold}
    random_hits = []
    for s in range(2000):  # the random baseline's distribution (cheap, exact permutations)
        order = np.random.default_rng(50_000 + s).permutation(n)
        random_hits.append(int(np.flatnonzero(values[order] >= threshold - 1e-12)[0]) + 1)
    curves = {}
    for method, run in pool_methods(methods or ["planner", "random"]):
        hits, best20, best50, traces = [], [], [], []
        for seed in seeds:
            t0 = time.perf_counter()
            stop = threshold if method in (stop_at_top or set()) else None
            trace = np.asarray(run(ds, seed, budget, stop_at=stop))  # signed, larger is better
            trace = trace[:, 0] if trace.ndim == 2 else trace
            hits.append(first_hit(trace, threshold))
            best = np.maximum.accumulate(trace)
            traces.append([percentile(b, values) for b in best])
            best20.append(percentile(best[min(20, len(best)) - 1], values))
            best50.append(percentile(best[min(50, len(best)) - 1], values))
            if method != "random":
                print(
                    f"  {ds.name} {method} seed {seed}: first top-1% at {hits[-1]} "
                    f"({time.perf_counter() - t0:.0f} s)",
                    flush=True,
                )
        out[method] = {
            "seeds": seeds,
            "experiments_to_top1pct": hits,
            "median": float(np.median(hits)),
            "mean": float(np.mean(hits)),
            "iqr": [float(np.percentile(hits, 25)), float(np.percentile(hits, 75))],
            "censored_at": budget + 1,
            "stopped_at_first_top1pct": method in (stop_at_top or set()),
            "best_percentile_20": float(np.median(best20)),
            "best_percentile_50": float(np.median(best50)),
        }
        width = max(len(t) for t in traces)  # stopped runs: the best stays once found
        traces = [t + [t[-1]] * (width - len(t)) for t in traces]
        curves[method] = np.median(np.array(traces), axis=0).tolist()
    out["random_expected_mean"] = (n + 1) / (n_top + 1)
    out["random_simulated_median"] = float(np.median(random_hits))
    out["random_simulated_mean"] = float(np.mean(random_hits))
    out["curves_percentile"] = curves
    compare_pool(out)
    return out


def compare_pool(out: dict[str, Any]) -> None:
    """Planner against every other pool method on the seeds both ran: per-seed wins,
    ties and losses, and both medians on those seeds; the acceleration over random."""
    if "planner" not in out or "experiments_to_top1pct" not in out["planner"]:
        return
    mine_by_seed = dict(
        zip(out["planner"].get("seeds", []), out["planner"]["experiments_to_top1pct"], strict=False)
    )
    for method, res in out.items():
        if not isinstance(res, dict) or method in ("planner", "random"):
            continue
        if "experiments_to_top1pct" not in res:
            continue
        theirs_by_seed = dict(
            zip(res.get("seeds", []), res["experiments_to_top1pct"], strict=False)
        )
        common = sorted(set(mine_by_seed) & set(theirs_by_seed))
        if not common:  # files written before seeds were recorded: same seeds, in order
            mine = np.array(out["planner"]["experiments_to_top1pct"])
            theirs = np.array(res["experiments_to_top1pct"])
        else:
            mine = np.array([mine_by_seed[s] for s in common])
            theirs = np.array([theirs_by_seed[s] for s in common])
            res["common_seeds_with_planner"] = common
            res["planner_median_on_common_seeds"] = float(np.median(mine))
            res["median_on_common_seeds"] = float(np.median(theirs))
        res["planner_wins_ties_losses"] = [
            int((mine < theirs).sum()),
            int((mine == theirs).sum()),
            int((mine > theirs).sum()),
        ]
    planner_median = out["planner"]["median"]
    out["acceleration_vs_mean"] = out["random_expected_mean"] / planner_median
    out["acceleration_vs_median"] = out["random_simulated_median"] / planner_median


def hypervolume(Y: np.ndarray, ref: np.ndarray) -> float:
    from botorch.utils.multi_objective.hypervolume import Hypervolume
    from botorch.utils.multi_objective.pareto import is_non_dominated

    T = torch.tensor(Y, dtype=torch.float64)
    front = T[is_non_dominated(T)]
    return float(Hypervolume(torch.tensor(ref, dtype=torch.float64)).compute(front))


def multi_objective_runs() -> dict[str, Callable[[Dataset, int, int], np.ndarray]]:
    """The pool-mode methods for several objectives, by name (``plain``: the plain
    BoTorch loop with qLogEHVI; ``baybe``: BayBE's defaults with a ``ParetoObjective``,
    so qLogNEHVI); each returns the signed objective rows it chose."""
    from benchmarks.planner_ablation import baybe_mo_run, plain_mo_run

    return {
        "planner": pool_planner_run,
        "planner_descriptors": lambda ds, seed, budget: pool_planner_run(
            ds, seed, budget, substances="descriptors"
        ),
        # the descriptors with the Matern-Gamma kernel of the real pools
        "planner_descriptors_matern": lambda ds, seed, budget: pool_planner_run(
            ds, seed, budget, substances="descriptors", kernel="matern_gamma"
        ),
        # one-hot codes followed by the descriptors (2026-12-05)
        "planner_descriptors_onehot": lambda ds, seed, budget: pool_planner_run(
            ds, seed, budget, substances="descriptors+onehot"
        ),
        # the one-hot model plus the descriptor model, summed (2026-12-05)
        "planner_descriptors_additive": _identity_plus_structure_run,
        "random": pool_random_run,
        "plain": plain_mo_run,
        "baybe": baybe_mo_run,
    }


def pool_multi(
    ds: Dataset, seeds: list[int], budget: int, methods: list[str] | None = None
) -> dict[str, Any]:
    """Pool mode, several objectives: hypervolume of the chosen rows as a fraction of
    the whole pool's, per method (see :func:`multi_objective_runs`)."""
    values = np.array(list(pool_lookup(ds).values()))
    ref = values.min(axis=0)
    total = hypervolume(values, ref)
    out: dict[str, Any] = {"rows": len(values), "reference_point_signed": ref.tolist()}
    runs = multi_objective_runs()
    for method in methods or ["planner", "random"]:
        run = runs[method]
        fractions, f20 = [], []
        for seed in seeds:
            t0 = time.perf_counter()
            trace = run(ds, seed, budget)
            fractions.append(hypervolume(trace[:50], ref) / total)
            f20.append(hypervolume(trace[:20], ref) / total)
            if method != "random":
                print(
                    f"  {ds.name} {method} seed {seed}: HV fraction {fractions[-1]:.3f} "
                    f"({time.perf_counter() - t0:.0f} s)",
                    flush=True,
                )
        out[method] = {
            "hv_fraction_50": float(np.median(fractions)),
            "hv_fraction_50_iqr": [float(np.percentile(fractions, q)) for q in (25, 75)],
            "hv_fraction_20": float(np.median(f20)),
            "per_seed": fractions,
            "seeds": seeds,
        }
    for method in out if "planner" in out else ():
        if isinstance(out[method], dict) and method != "planner" and "per_seed" in out[method]:
            mine, theirs = np.array(out["planner"]["per_seed"]), np.array(out[method]["per_seed"])
            out[method]["planner_wins_ties_losses"] = [
                int((mine > theirs + 1e-12).sum()),
                int((np.abs(mine - theirs) <= 1e-12).sum()),
                int((mine < theirs - 1e-12).sum()),
            ]
    return out


# ---------------------------------------------------------------- continuous mode
def simplex_from_unit(U: np.ndarray) -> np.ndarray:
    E = -np.log(np.clip(U, 1e-12, 1.0))
    return E / E.sum(axis=1, keepdims=True)


def box_rows(ds: Dataset, U: np.ndarray) -> list[dict[str, float]]:
    if ds.simplex:
        U = simplex_from_unit(U)
    rows = []
    for u in U:
        row = {}
        for p, v in zip(ds.spec["parameters"], u, strict=True):
            row[p["name"]] = (
                float(v) if ds.simplex else p["low"] + float(v) * (p["high"] - p["low"])
            )
        rows.append(row)
    return rows


def continuous_run(
    ds: Dataset, response: DatasetResponse, method: str, seed: int, budget: int
) -> np.ndarray:
    rng = np.random.default_rng(seed)
    sign = ds.signs()[0]
    objective = ds.objective_names[0]
    d = len(ds.parameter_names)
    if method == "sobol":
        rows = box_rows(ds, SobolEngine(d, scramble=True, seed=seed).draw(budget).double().numpy())
        return response.true(rows) * sign
    if method == "random":
        return response.true(box_rows(ds, rng.uniform(size=(budget, d)))) * sign
    if method == "ax":
        return ax_run(ds, response, seed, budget, rng)
    if method == "baybe":
        return baybe_continuous_run(ds, response, seed, budget, rng)
    planner = Planner(ds.parameters(), ds.objectives(), ds.constraints(), seed=seed)
    true_values = []
    while len(true_values) < budget:
        [s] = planner.suggest(1)
        planner.observe(s, {objective: float(response.measure([s.params], rng)[0])})
        true_values.append(float(response.true([s.params])[0]) * sign)
    return np.array(true_values)


def ax_run(
    ds: Dataset, response: DatasetResponse, seed: int, budget: int, rng: np.random.Generator
) -> np.ndarray:
    from ax.api.client import Client
    from ax.api.configs import RangeParameterConfig

    quiet_ax()

    names = ds.parameter_names
    free = names[:-1] if ds.simplex else names
    params = [
        RangeParameterConfig(
            name=p["name"], parameter_type="float", bounds=(float(p["low"]), float(p["high"]))
        )
        for p in ds.spec["parameters"]
        if p["name"] in free
    ]
    client = Client(random_seed=seed)
    constraints = [" + ".join(free) + " <= 1"] if ds.simplex else []
    client.configure_experiment(parameters=params, parameter_constraints=constraints)
    objective = ds.objective_names[0]
    client.configure_optimization(objective=("" if ds.signs()[0] > 0 else "-") + objective)
    true_values = []
    while len(true_values) < budget:
        for index, trial in client.get_next_trials(max_trials=1).items():
            row = {n: float(trial[n]) for n in free}
            if ds.simplex:
                row[names[-1]] = max(0.0, 1.0 - sum(row.values()))
            client.complete_trial(
                trial_index=index, raw_data={objective: float(response.measure([row], rng)[0])}
            )
            true_values.append(float(response.true([row])[0]) * ds.signs()[0])
    return np.array(true_values)


def baybe_continuous_run(
    ds: Dataset, response: DatasetResponse, seed: int, budget: int, rng: np.random.Generator
) -> np.ndarray:
    """BayBE's ``Campaign`` with its defaults over the dataset's box (``pip install baybe``).

    Every parameter is a ``NumericalContinuousParameter`` on its bounds; the
    simplex dataset gets BayBE's own equality constraint (the fractions sum to
    1), which BayBE, unlike Ax, supports.
    """
    import logging

    from baybe import Campaign
    from baybe.constraints import ContinuousLinearConstraint
    from baybe.parameters import NumericalContinuousParameter
    from baybe.searchspace import SearchSpace as BayBESpace
    from baybe.targets import NumericalTarget
    from baybe.utils.random import set_random_seed

    logging.getLogger("baybe").setLevel(logging.ERROR)
    set_random_seed(seed)
    names = ds.parameter_names
    parameters = [
        NumericalContinuousParameter(name=p["name"], bounds=(float(p["low"]), float(p["high"])))
        for p in ds.spec["parameters"]
    ]
    constraints = (
        [
            ContinuousLinearConstraint(
                parameters=names, operator="=", coefficients=[1.0] * len(names), rhs=1.0
            )
        ]
        if ds.simplex
        else []
    )
    objective = ds.objective_names[0]
    target = NumericalTarget(
        objective, minimize=bool(ds.signs()[0] < 0), _enforce_modern_interface=True
    )
    space = BayBESpace.from_product(parameters, constraints)
    campaign = Campaign(space, target.to_objective())
    true_values = []
    while len(true_values) < budget:
        chosen = campaign.recommend(batch_size=1)
        row = {n: float(chosen.iloc[0][n]) for n in names}
        chosen[objective] = float(response.measure([row], rng)[0])
        campaign.add_measurements(chosen)
        true_values.append(float(response.true([row])[0]) * ds.signs()[0])
    return np.array(true_values)


def quiet_ax() -> None:
    """Ax logs every trial at INFO level on its own loggers; keep the table readable."""
    for name in list(logging.root.manager.loggerDict):
        if name == "ax" or name.startswith("ax."):
            logging.getLogger(name).setLevel(logging.WARNING)


def continuous(
    ds: Dataset,
    seeds: list[int],
    ax_seeds: list[int],
    budget: int,
    ax_ok: bool,
    methods: list[str] | None = None,
) -> dict[str, Any]:
    response = DatasetResponse(ds)
    sign = ds.signs()[0]
    out: dict[str, Any] = {
        "noise_std": response.noise_std,
        "budget": budget,
        "sign": float(sign),
        "dataset_best": float(signed_values(ds)[:, 0].max() * sign),
    }
    methods = [m for m in (methods or ["planner", "sobol", "random", "ax"]) if m != "ax" or ax_ok]
    for method in methods:
        run_seeds = ax_seeds if method == "ax" else seeds
        best, curves, times = [], [], []
        for seed in run_seeds:
            t0 = time.perf_counter()
            trace = continuous_run(ds, response, method, seed, budget)
            times.append(time.perf_counter() - t0)
            acc = np.maximum.accumulate(trace)
            best.append(float(acc[-1] * sign))
            curves.append((acc * sign).tolist())
            if method in ("planner", "ax", "baybe"):  # progress of the slow ones, seed by seed
                print(f"  {ds.name} {method} seed {seed}: best {best[-1]:.4g}", flush=True)
        print(
            f"  {ds.name} {method}: median best {np.median(best):.4g} "
            f"({np.mean(times):.0f} s/seed)",
            flush=True,
        )
        out[method] = {
            "seeds": run_seeds,
            "best_true": best,
            "median_best_true": float(np.median(best)),
            "curve_median": np.median(np.array(curves), axis=0).tolist(),
            "curves": curves,
        }
    compare_with_comparators(out)
    return out


def paired_with_planner(
    out: dict[str, Any], method: str
) -> tuple[float, dict[int, float], dict[int, float], list[int]] | None:
    """``(sign, planner by seed, method by seed, common seeds)`` of a continuous result,
    or ``None`` when either did not run or they share no seed."""
    if "planner" not in out or method not in out:
        return None
    sign = out.get("sign", 1.0 if out["dataset_best"] >= 0 else -1.0)
    planner = dict(zip(out["planner"]["seeds"], out["planner"]["best_true"], strict=True))
    other = dict(zip(out[method]["seeds"], out[method]["best_true"], strict=True))
    common = sorted(set(planner) & set(other))
    return (sign, planner, other, common) if common else None


def compare_with_ax(out: dict[str, Any]) -> None:
    """Planner vs Ax on the seeds both ran (median best true value after the budget)."""
    paired = paired_with_planner(out, "ax")
    if paired is None:
        return
    sign, planner, ax, common = paired
    planner_median = float(np.median([planner[s] for s in common]))
    ax_median = float(np.median([ax[s] for s in common]))
    out["common_seeds_with_ax"] = common
    out["planner_on_ax_seeds_median"] = planner_median
    out["ax_on_common_seeds_median"] = ax_median
    out["planner_at_least_as_good_as_ax"] = bool(planner_median * sign >= ax_median * sign)
    wins = sum(planner[s] * sign >= ax[s] * sign for s in common)
    out["planner_wins_vs_ax_per_seed"] = f"{wins}/{len(common)}"


def compare_with_comparators(out: dict[str, Any]) -> None:
    """Planner vs Ax (flat keys, as before) and vs BayBE (``planner_vs_baybe``), same seeds."""
    compare_with_ax(out)
    paired = paired_with_planner(out, "baybe")
    if paired is None:
        return
    sign, planner, other, common = paired
    planner_median = float(np.median([planner[s] for s in common]))
    other_median = float(np.median([other[s] for s in common]))
    out["planner_vs_baybe"] = {
        "common_seeds": common,
        "planner_median": planner_median,
        "baybe_median": other_median,
        "planner_at_least_as_good": bool(planner_median * sign >= other_median * sign),
        "planner_wins_ties_losses": [
            sum(planner[s] * sign > other[s] * sign for s in common),
            sum(planner[s] == other[s] for s in common),
            sum(planner[s] * sign < other[s] * sign for s in common),
        ],
    }


# ---------------------------------------------------------------- latency
#: Latency cases with molecules, and the mixed search each asks for (``None``: the default).
SUBSTANCE_SEARCHES: dict[str, str | None] = {
    "substance": None,
    "substance_batched_early_stop": "batched_early_stop",
    "substance_batched": "batched",
    "substance_per_combination": "per_combination",
}


class LatencyCase:
    """Six parameters and a noisy test response for the latency benchmark.

    ``"reals"``: six reals in [0, 1], the negated 6-D Hartmann function;
    ``"reals_scratch"``: the same, the model fitted from the priors' modes at
    every suggestion (``model_fit="scratch"``).
    ``"substance"``: two structure-aware molecule parameters (buchwald_a's 22
    additives and 4 ligands, RDKit descriptors) and four reals; the response
    is the negated 4-D Hartmann function of the reals plus a fixed, seeded
    effect of each molecule. ``"substance_per_combination"`` and
    ``"substance_batched"``: the same with the mixed-space searches of planners
    made before 2026-12-05 (``mixed_search="per_combination"``) and before the
    early stop (``mixed_search="batched"``); ``"substance_batched_early_stop"``:
    the search of planners made before the joint batch search (2026-12-06).
    Any case with the suffix ``"_all_threads"`` computes every suggestion on
    the threads torch has, as before 2026-12-06 (since then a suggestion from
    fewer than :data:`~smartlab_kernel.planner.threads.ONE_THREAD_BELOW`
    observations runs on one thread).
    """

    def __init__(self, kind: str) -> None:
        from botorch.test_functions import Hartmann

        self.kind = kind
        self.all_threads = kind.endswith("_all_threads")
        kind = kind.removesuffix("_all_threads")
        if kind in ("reals", "reals_scratch"):
            self.parameters: list[Any] = [Real(f"x{i}", 0.0, 1.0) for i in range(6)]
            self.reals = [f"x{i}" for i in range(6)]
            self.molecules: dict[str, list[str]] = {}
        elif kind in SUBSTANCE_SEARCHES:
            from smartlab_kernel.planner.substances import Substance

            options = {p["name"]: p["options"] for p in load("buchwald_a").spec["parameters"]}
            self.molecules = {name: options[name] for name in ("additive", "ligand")}
            self.reals = [f"x{i}" for i in range(4)]
            self.parameters = [Substance(name, smiles) for name, smiles in self.molecules.items()]
            self.parameters += [Real(name, 0.0, 1.0) for name in self.reals]
        else:
            raise ValueError(f"unknown latency case {kind!r}")
        search = SUBSTANCE_SEARCHES.get(kind)
        self.options: dict[str, Any] = {"mixed_search": search} if search else {}
        if kind == "reals_scratch":
            self.options["model_fit"] = "scratch"
        self.hartmann = Hartmann(dim=len(self.reals))
        gen = np.random.default_rng(7)
        self.effect = {
            name: dict(zip(smiles, gen.normal(0.0, 0.5, len(smiles)).tolist(), strict=True))
            for name, smiles in self.molecules.items()
        }

    def random_rows(self, n: int, seed: int) -> list[dict[str, Any]]:
        gen = np.random.default_rng(seed)
        rows = []
        for _ in range(n):
            row: dict[str, Any] = {name: float(gen.random()) for name in self.reals}
            for name, smiles in self.molecules.items():
                row[name] = smiles[int(gen.integers(len(smiles)))]
            rows.append(row)
        return rows

    def response(self, row: dict[str, Any]) -> float:
        x = torch.tensor([[float(row[name]) for name in self.reals]], dtype=torch.float64)
        effect = sum(self.effect[name][row[name]] for name in self.molecules)
        return float(-self.hartmann(x)) + effect


def latency(sizes: list[int], qs: list[int], reps: int, kind: str = "reals") -> dict[str, Any]:
    """p50 and p95 of one suggestion's wall time (fit + search) at each size and batch."""
    case = LatencyCase(kind)
    with _thread_rule(one_thread=not case.all_threads):
        return _measure_latency(case, sizes, qs, reps)


def _measure_latency(
    case: LatencyCase, sizes: list[int], qs: list[int], reps: int
) -> dict[str, Any]:
    kind = case.kind
    out: dict[str, Any] = {}
    for n in sizes:
        for q in qs:
            planner = Planner(case.parameters, [Objective("y")], seed=n + q, **case.options)
            noise = np.random.default_rng(n)
            for row in case.random_rows(n, n):
                planner.observe(row, {"y": case.response(row) + 0.05 * float(noise.normal())})
            t0 = time.perf_counter()
            batch = planner.suggest(q)
            cold = time.perf_counter() - t0
            times = []
            for _ in range(reps):
                # As in a campaign: the last batch's results arrive, then the next
                # batch is asked for, so every timed suggestion includes a refit.
                for s in batch:
                    planner.observe(s, {"y": case.response(s.params)})
                t0 = time.perf_counter()
                batch = planner.suggest(q)
                times.append(time.perf_counter() - t0)
            p50, p95 = float(np.percentile(times, 50)), float(np.percentile(times, 95))
            key = f"n={n},q={q}" if kind == "reals" else f"{kind}:n={n},q={q}"
            out[key] = {
                "case": kind,
                "n": n,
                "q": q,
                "p50_s": p50,
                "p95_s": p95,
                "cold_first_s": cold,
                "reps": reps,
                "refit_each": True,  # each timed suggestion follows new observations
                "torch_threads": batch[0].model_state.get("torch_threads"),
                "meets_target": p50 <= 0.5 and p95 <= 1.5,
            }
            print(
                f"  latency {kind} n={n} q={q}: p50 {p50:.3f} s, p95 {p95:.3f} s "
                f"(cold first {cold:.2f} s)",
                flush=True,
            )
    return out


@contextmanager
def _thread_rule(one_thread: bool) -> Iterator[None]:
    """The planner's one-thread rule as it is, or off (every suggestion on torch's threads)."""
    from smartlab_kernel.planner import threads

    rule = threads.ONE_THREAD_BELOW
    threads.ONE_THREAD_BELOW = rule if one_thread else 0
    try:
        yield
    finally:
        threads.ONE_THREAD_BELOW = rule


# ---------------------------------------------------------------- refits
#: Observations at which :func:`refit_quality` reads the best true value.
REFIT_CHECKPOINTS = (50, 100, 150, 200)


def refit_quality(
    seeds: list[int], fits: list[str], budget: int = 200, q: int = 4, kind: str = "reals"
) -> dict[str, Any]:
    """Campaigns beyond :data:`~smartlab_kernel.planner.settings.REFIT_EVERY_BELOW`
    observations, per ``model_fit``: the best true value among the observations at
    each of :data:`REFIT_CHECKPOINTS` (noisy observations, noise-free score), and
    the campaign's planner time.

    ``kind`` is a :class:`LatencyCase` (six reals: the negated 6-D Hartmann
    function, whose maximum is 3.32237), observed with noise of sd 0.05.
    """
    case = LatencyCase(kind)
    out: dict[str, Any] = {"case": kind, "budget": budget, "q": q, "checkpoints": {}}
    checkpoints = [c for c in REFIT_CHECKPOINTS if c <= budget]
    for fit in fits:
        best: dict[int, list[float]] = {c: [] for c in checkpoints}
        seconds = []
        for seed in seeds:
            planner = Planner(case.parameters, [Objective("y")], seed=seed, model_fit=fit)
            noise = np.random.default_rng(seed)
            true: list[float] = []
            t0 = time.perf_counter()
            while len(true) < budget:
                for s in planner.suggest(min(q, budget - len(true))):
                    value = case.response(s.params)
                    planner.observe(s, {"y": value + 0.05 * float(noise.normal())})
                    true.append(value)
            seconds.append(time.perf_counter() - t0)
            for c in checkpoints:
                best[c].append(max(true[:c]))
            print(
                f"  refits {fit} seed {seed}: best "
                + ", ".join(f"{max(true[:c]):.4f} @{c}" for c in checkpoints)
                + f" ({seconds[-1]:.0f} s)",
                flush=True,
            )
        out["checkpoints"][fit] = {
            str(c): {"median": float(np.median(v)), "mean": float(np.mean(v)), "per_seed": v}
            for c, v in best.items()
        }
        out.setdefault("seconds", {})[fit] = seconds
    return out


# ---------------------------------------------------------------- report
def plot(results: dict[str, Any], path: Path) -> bool:
    """Best-so-far curves per dataset and, if measured, latency against n; ``False``
    if there was nothing to plot (no file written)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pool = {k: v for k, v in results["pool"].items() if "curves_percentile" in v}
    cont = results.get("continuous", {})
    latency_points = results.get("latency", {})
    panels = len(pool) + len(cont) + (1 if latency_points else 0)
    if panels == 0:
        return False
    cols = min(4, panels)
    rows = math.ceil(panels / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3.2 * rows), squeeze=False)
    flat = list(axes.flat)
    for ax, (name, res) in zip(flat, pool.items(), strict=False):
        for method, curve in res["curves_percentile"].items():
            ax.plot(range(1, len(curve) + 1), curve, label=method)
        ax.set_title(f"pool: {name}")
        ax.set_xlabel("experiments")
        ax.set_ylabel("best percentile (median)")
        ax.legend()
    for ax, (name, res) in zip(flat[len(pool) :], cont.items(), strict=False):
        for method in ("planner", "sobol", "random", "ax", "baybe"):
            if method in res:
                curve = res[method]["curve_median"]
                ax.plot(range(1, len(curve) + 1), curve, label=method)
        ax.set_title(f"continuous: {name}")
        ax.set_xlabel("experiments")
        ax.set_ylabel("best true value (median)")
        ax.legend()
    if latency_points:
        ax = flat[panels - 1]
        series: dict[str, list[tuple[int, float]]] = {}
        for point in latency_points.values():
            series.setdefault(f"{point['case']}, q={point['q']}", []).append(
                (point["n"], point["p50_s"])
            )
        for label, values in series.items():
            ns, p50s = zip(*sorted(values), strict=True)
            ax.plot(ns, p50s, marker="o", label=label)
        ax.axhline(0.5, color="grey", linestyle="--", label="p50 target")
        ax.set_title("latency of one suggestion (p50)")
        ax.set_xlabel("observations")
        ax.set_ylabel("seconds")
        ax.legend(fontsize="small")
    for ax in flat[panels:]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return True


def print_table(results: dict[str, Any]) -> None:
    print("\n== pool mode (experiments to first top-1% row; median [IQR]) ==")
    for name, res in results["pool"].items():
        if "random_expected_mean" in res and "acceleration_vs_mean" not in res:
            for method, other in res.items():
                if isinstance(other, dict) and "median" in other:
                    print(
                        f"{name:15s} {method} {other['median']:5.1f} "
                        f"[{other['iqr'][0]:.0f}-{other['iqr'][1]:.0f}]"
                    )
        elif "acceleration_vs_mean" in res:
            p = res["planner"]
            # a run without the random method (--pool-methods) has only random's expectation
            r = res.get("random", {"median": float("nan")})
            print(
                f"{name:15s} planner {p['median']:5.1f} [{p['iqr'][0]:.0f}-{p['iqr'][1]:.0f}]  "
                f"random(sim) {r['median']:5.1f}  random E={res['random_expected_mean']:5.1f}  "
                f"accel {res['acceleration_vs_mean']:5.1f}x "
                f"(vs median {res['acceleration_vs_median']:.1f}x)  "
                f"best pct@20 {p['best_percentile_20']:.1f} @50 {p['best_percentile_50']:.1f}"
            )
            for method, other in res.items():
                if isinstance(other, dict) and "planner_wins_ties_losses" in other:
                    w, t, losses = other["planner_wins_ties_losses"]
                    common = other.get("common_seeds_with_planner")
                    on_common = (
                        f" (on the {len(common)} common seeds: planner "
                        f"{other['planner_median_on_common_seeds']:.1f}, {method} "
                        f"{other['median_on_common_seeds']:.1f})"
                        if common
                        else ""
                    )
                    print(
                        f"{'':15s} {method} {other['median']:5.1f} "
                        f"[{other['iqr'][0]:.0f}-{other['iqr'][1]:.0f}]  "
                        f"planner per seed: {w} wins, {t} ties, {losses} losses{on_common}"
                    )
        else:
            print(
                f"{name:15s} HV fraction @50: "
                + "  ".join(
                    f"{m} {r['hv_fraction_50']:.3f} "
                    f"[{r['hv_fraction_50_iqr'][0]:.3f}-{r['hv_fraction_50_iqr'][1]:.3f}]"
                    + (
                        f" (planner W/T/L {'/'.join(map(str, r['planner_wins_ties_losses']))})"
                        if "planner_wins_ties_losses" in r
                        else ""
                    )
                    for m, r in res.items()
                    if isinstance(r, dict) and "hv_fraction_50" in r
                )
            )
    if results.get("continuous"):
        print("\n== continuous mode (median best true value after budget) ==")
        for name, res in results["continuous"].items():
            line = "  ".join(
                f"{m} {res[m]['median_best_true']:.4g}"
                for m in ("planner", "sobol", "random", "ax", "baybe")
                if m in res
            )
            extra = (
                f"  planner on Ax seeds {res['planner_on_ax_seeds_median']:.4g}"
                if "planner_on_ax_seeds_median" in res
                else ""
            )
            print(f"{name:15s} {line}{extra}")
    if results.get("refits"):
        res = results["refits"]
        print(f"\n== refits: best true value (median over seeds), q = {res['q']} ==")
        for fit, points in res["checkpoints"].items():
            line = "  ".join(f"@{c} {v['median']:.4f}" for c, v in points.items())
            print(f"{fit:10s} {line}  ({np.median(res['seconds'][fit]):.0f} s a campaign)")
    if results.get("latency"):
        print("\n== latency (one suggestion, seconds) ==")
        for key, res in results["latency"].items():
            print(
                f"{key:12s} p50 {res['p50_s']:.3f}  p95 {res['p95_s']:.3f}  "
                f"target met: {res['meets_target']}"
            )


def merge_seeds(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Union of two runs of one continuous method over seeds (the newer wins on a seed)."""
    if "curves" not in old or "curves" not in new:
        return new
    best = dict(zip(old["seeds"], old["best_true"], strict=True))
    curves = dict(zip(old["seeds"], old["curves"], strict=True))
    best.update(zip(new["seeds"], new["best_true"], strict=True))
    curves.update(zip(new["seeds"], new["curves"], strict=True))
    seeds = sorted(best)
    return {
        "seeds": seeds,
        "best_true": [best[s] for s in seeds],
        "median_best_true": float(np.median([best[s] for s in seeds])),
        "curve_median": np.median(np.array([curves[s] for s in seeds]), axis=0).tolist(),
        "curves": [curves[s] for s in seeds],
    }


def merge(paths: list[Path], out: Path) -> int:
    """Combine partial runs (e.g. ``--parts pool`` and ``--parts continuous``) into one file."""
    merged: dict[str, Any] = {"merged_from": [str(p) for p in paths]}
    for path in paths:
        part = json.loads(path.read_text())
        for key, value in part.items():
            if key == "merged_from":  # an earlier merge: keep what it was made of
                earlier = value if isinstance(value, list) else [value]
                merged[key] = [*earlier, *merged[key]]
            elif key == "continuous" and isinstance(merged.get(key), dict):
                for name, res in value.items():  # methods may come from different runs
                    target = merged[key].setdefault(name, {})
                    for field, item in res.items():
                        if isinstance(item, dict) and isinstance(target.get(field), dict):
                            target[field] = merge_seeds(target[field], item)
                        else:
                            target[field] = item
            elif key == "pool" and isinstance(merged.get(key), dict):
                for name, res in value.items():  # comparators may come from other runs
                    target = merged[key].setdefault(name, {})
                    curves = {
                        **target.get("curves_percentile", {}),
                        **res.get("curves_percentile", {}),
                    }
                    target.update(res)
                    if curves:
                        target["curves_percentile"] = curves
            elif isinstance(value, dict) and isinstance(merged.get(key), dict):
                merged[key].update(value)
            elif key not in merged or (value and not merged[key]):
                # the first file's seeds, Ax version and wall time describe the merge's base;
                # a later part (say BayBE on seeds 5-9 without Ax) must not overwrite them
                merged[key] = value
    for res in merged.get("continuous", {}).values():
        compare_with_comparators(res)
    for res in merged.get("pool", {}).values():
        compare_pool(res)
    out.write_text(json.dumps(merged, indent=1))
    plot(merged, out.with_suffix(".png"))
    print_table(merged)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="few seeds, small budgets (CI)")
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parent / "results" / "planner.json"
    )
    parser.add_argument("--parts", default="pool,continuous,latency")
    parser.add_argument("--datasets", default=",".join(ALL))
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--ax-seeds", type=int, default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--first-seed", type=int, default=0, help="seeds are first-seed .. first-seed + seeds - 1"
    )
    parser.add_argument(
        "--methods",
        default="planner,sobol,random,ax",
        help="continuous-mode methods to run (comma-separated; baybe needs pip install baybe)",
    )
    parser.add_argument(
        "--merge", nargs="+", type=Path, help="combine JSON files of partial runs into --out"
    )
    parser.add_argument(
        "--pool-comparators",
        type=lambda text: [m for m in text.split(",") if m],
        default=[],
        help="pool-mode comparators beside planner and random: plain, baybe (comma-separated)",
    )
    parser.add_argument(
        "--pool-methods",
        type=lambda text: [m for m in text.split(",") if m],
        default=None,
        help="pool-mode methods, replacing planner,random,<comparators> (e.g. baybe alone)",
    )
    parser.add_argument(
        "--latency-cases",
        type=lambda text: [m for m in text.split(",") if m],
        default=["reals", "substance"],
        help="latency cases: reals (six reals), reals_scratch (the same, fitted from "
        "scratch at every suggestion), substance (two molecules, four reals), "
        "substance_batched_early_stop (the same, each batch point searched in turn, "
        "the default before 2026-12-06), substance_batched (that without the early stop), "
        "substance_per_combination (the same, searched as before 2026-12-05); "
        "the suffix _all_threads (reals_all_threads, ...) computes every suggestion on "
        "torch's threads, as before 2026-12-06",
    )
    parser.add_argument(
        "--pool-budget", type=int, default=None, help="pool-mode budget (default 50; quick 30)"
    )
    parser.add_argument(
        "--refit-fits",
        type=lambda text: [m for m in text.split(",") if m],
        default=["periodic", "warm"],
        help="model_fit values the refits part compares (campaigns of 200 observations)",
    )
    parser.add_argument(
        "--stop-at-top",
        type=lambda text: {m for m in text.split(",") if m},
        default=set(),
        help="pool methods whose runs end at their first top-1%% row (slow comparators)",
    )
    args = parser.parse_args(argv)
    if args.merge:
        return merge(args.merge, args.out)
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    logging.getLogger("ax").setLevel(logging.ERROR)
    quick = args.quick
    first = args.first_seed
    seeds = list(range(first, first + (args.seeds if args.seeds else (2 if quick else 20))))
    cont_seeds = seeds if not quick else seeds[:2]
    n_ax = args.ax_seeds if args.ax_seeds is not None else (1 if quick else 5)
    ax_seeds = list(range(first, first + n_ax))
    pool_budget = args.pool_budget or (30 if quick else 50)
    cont_budget = 20 if quick else 50
    parts = set(args.parts.split(","))
    datasets = [d for d in args.datasets.split(",") if d]
    try:
        import ax  # noqa: F401

        ax_ok, ax_note = True, f"ax-platform {__import__('ax').__version__}"
    except Exception as error:  # the report says why Ax is missing
        ax_ok, ax_note = False, f"Ax not available: {error}"
    results: dict[str, Any] = {
        "mode": "quick" if quick else "full",
        "seeds": seeds,
        "ax_seeds": ax_seeds if ax_ok else [],
        "ax": ax_note,
        "budgets": {"pool": pool_budget, "continuous": cont_budget},
        "machine": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "default"),
            "processor": platform.processor(),
        },
        "pool": {},
        "continuous": {},
        "latency": {},
    }
    started = time.perf_counter()
    args.out.parent.mkdir(parents=True, exist_ok=True)

    def save_partial() -> None:  # a long run keeps what it measured if it is stopped
        args.out.with_suffix(".partial.json").write_text(json.dumps(results, indent=1))

    if "pool" in parts:
        for name in datasets:
            print(f"pool: {name}", flush=True)
            ds = load(name)
            methods = args.pool_methods or ["planner", "random", *args.pool_comparators]
            if len(ds.objective_names) > 1:
                known = multi_objective_runs()
                multi = [m for m in methods if m in known]
                results["pool"][name] = pool_multi(ds, seeds, pool_budget, multi)
            else:
                results["pool"][name] = pool_single(
                    ds, seeds, pool_budget, methods, args.stop_at_top
                )
            save_partial()
    if "continuous" in parts:
        for name in [d for d in CONTINUOUS if d in datasets]:
            print(f"continuous: {name}", flush=True)
            results["continuous"][name] = continuous(
                load(name),
                cont_seeds,
                [s for s in ax_seeds if s in cont_seeds],
                cont_budget,
                ax_ok,
                args.methods.split(","),
            )
            save_partial()
    if "latency" in parts:
        print("latency", flush=True)
        for kind in args.latency_cases:
            results["latency"].update(latency([20, 100, 300], [1, 4], 4 if quick else 12, kind))
    if "refits" in parts:
        print("refits", flush=True)
        results["refits"] = refit_quality(seeds, args.refit_fits)
    results["wall_time_s"] = time.perf_counter() - started
    args.out.write_text(json.dumps(results, indent=1))
    args.out.with_suffix(".partial.json").unlink(missing_ok=True)
    plotted = plot(results, args.out.with_suffix(".png"))
    print_table(results)
    figure = f" and {args.out.with_suffix('.png')}" if plotted else " (nothing to plot)"
    print(f"\nwrote {args.out}{figure} ({results['wall_time_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Mixed-space searches side by side: time of the search and value of the batch found.

Each problem is the latency benchmark's molecule case (two ``Substance``
parameters, buchwald_a's 22 additives and 4 ligands, and four reals;
``planner_benchmark.LatencyCase("substance")``) with ``n`` random
observations. For each search the same planner (same seed, same
observations, so the same model and the same acquisition function) makes its
first suggestion of ``q`` points; the figures are the wall time of the
acquisition search alone (``engine.optimize``: the fit is the same for every
search and is not timed) and the batch's joint acquisition value (log
expected improvement, larger is better; the planner records it as
``acquisition_value``).

With ``--campaigns K`` it also runs ``K`` seeded campaigns per search
(``--campaign-budget`` experiments in batches of ``--campaign-q``, noisy
observations, scored noise-free) and reports each search's best true value,
the measure of whether a better batch shows in results.

Run::

    .venv/bin/python benchmarks/mixed_search_benchmark.py --seeds 6 --campaigns 16 \\
        --campaign-budget 40 --out benchmarks/results/mixed_search.json

It prints a table and writes JSON: per search and problem the time and the
value, and per search against the first one the ratio of the median times
and the problems on which its batch's value was higher / level (within 1e-3)
/ lower; with campaigns, each seed's best value, the medians and the seeds
won / tied / lost against the first search.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import smartlab_kernel.planner.engine as engine_module
from benchmarks.planner_benchmark import LatencyCase
from smartlab_kernel.planner import Objective, Planner

#: Values within this much (log expected improvement) count as level.
LEVEL = 1e-3


def timed_optimize(log: list[float]) -> Any:
    """``engine.optimize`` that appends the wall time of each call to ``log``."""
    original = engine_module.optimize

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            log.append(time.perf_counter() - t0)

    return wrapper


def run_problem(search: str, n: int, q: int, seed: int, case: LatencyCase) -> dict[str, float]:
    """One search's first suggestion on one problem: search time and batch value."""
    planner = Planner(case.parameters, [Objective("y")], seed=seed, mixed_search=search)
    noise = np.random.default_rng(seed)
    for row in case.random_rows(n, 1000 * seed + n):
        planner.observe(row, {"y": case.response(row) + 0.05 * float(noise.normal())})
    log: list[float] = []
    original = engine_module.optimize
    engine_module.optimize = timed_optimize(log)
    try:
        batch = planner.suggest(q)
    finally:
        engine_module.optimize = original
    return {"seconds": log[-1], "value": float(batch[0].model_state["acquisition_value"])}


def run_campaign(search: str, seed: int, budget: int, q: int, case: LatencyCase) -> float:
    """A campaign of ``budget`` experiments in batches of ``q``: the best true value found.

    Observations carry noise of sd 0.05; the score is the noise-free response.
    """
    planner = Planner(case.parameters, [Objective("y")], seed=seed, mixed_search=search)
    noise = np.random.default_rng(seed)
    best = -float("inf")
    done = 0
    while done < budget:
        for suggestion in planner.suggest(min(q, budget - done)):
            value = case.response(suggestion.params)
            planner.observe(suggestion, {"y": value + 0.05 * float(noise.normal())})
            best = max(best, value)
            done += 1
    return best


def compare(results: dict[str, dict[str, dict[str, float]]], searches: list[str]) -> dict:
    """Per search against the first: median time ratio and value W/T/L per (n, q)."""
    reference = searches[0]
    out: dict[str, Any] = {}
    for search in searches[1:]:
        per_point: dict[str, Any] = {}
        keys = sorted({k.rsplit(",seed=", 1)[0] for k in results[search]})
        for point in keys:
            problems = [k for k in results[search] if k.startswith(point + ",seed=")]
            ref_t = float(np.median([results[reference][k]["seconds"] for k in problems]))
            new_t = float(np.median([results[search][k]["seconds"] for k in problems]))
            diffs = [results[search][k]["value"] - results[reference][k]["value"] for k in problems]
            per_point[point] = {
                "median_seconds": {reference: ref_t, search: new_t},
                "time_ratio": ref_t / new_t,
                "value_higher_level_lower": [
                    sum(d > LEVEL for d in diffs),
                    sum(abs(d) <= LEVEL for d in diffs),
                    sum(d < -LEVEL for d in diffs),
                ],
                "value_difference_median": float(np.median(diffs)),
                "value_difference_min": float(min(diffs)),
            }
        out[f"{search} vs {reference}"] = per_point
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--searches", default="batched_early_stop,joint")
    parser.add_argument("--sizes", default="20,100,300")
    parser.add_argument("--qs", default="2,4")
    parser.add_argument("--seeds", type=int, default=6, help="problems per size and batch")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--campaigns",
        type=int,
        default=0,
        help="also run this many seeded campaigns per search (batches of --campaign-q)",
    )
    parser.add_argument("--campaign-budget", type=int, default=40)
    parser.add_argument("--campaign-q", type=int, default=4)
    parser.add_argument("--campaign-first-seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/mixed_search.json"))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    searches = args.searches.split(",")
    case = LatencyCase("substance")
    results: dict[str, dict[str, dict[str, float]]] = {s: {} for s in searches}
    for n in [int(v) for v in args.sizes.split(",")]:
        for q in [int(v) for v in args.qs.split(",")]:
            for seed in range(args.seeds):
                key = f"n={n},q={q},seed={seed}"
                # alternate the order, so neither search always runs on a warmer machine
                order = searches if seed % 2 == 0 else searches[::-1]
                for search in order:
                    results[search][key] = run_problem(search, n, q, seed, case)
                print(
                    f"  {key}: "
                    + ", ".join(
                        f"{s} {r['seconds']:.3f} s value {r['value']:.4f}"
                        for s, r in ((s, results[s][key]) for s in searches)
                    ),
                    flush=True,
                )
    summary = compare(results, searches)
    print("\nsearch time ratio (reference / new, median) and batch value W/T/L:")
    for label, points in summary.items():
        for point, figures in points.items():
            print(
                f"  {label} {point}: {figures['time_ratio']:.2f}x faster, value "
                f"higher/level/lower {figures['value_higher_level_lower']}, median difference "
                f"{figures['value_difference_median']:+.4f}"
            )
    campaigns: dict[str, Any] = {}
    if args.campaigns:
        best = {s: [] for s in searches}
        seeds = list(range(args.campaign_first_seed, args.campaign_first_seed + args.campaigns))
        for seed in seeds:
            for search in searches if seed % 2 == 0 else searches[::-1]:
                best[search].append(
                    run_campaign(search, seed, args.campaign_budget, args.campaign_q, case)
                )
            print(
                f"  campaign seed {seed}: "
                + ", ".join(f"{s} best {best[s][-1]:.4f}" for s in searches),
                flush=True,
            )
        reference = searches[0]
        campaigns = {
            "budget": args.campaign_budget,
            "q": args.campaign_q,
            "seeds": seeds,
            "best_true": best,
            "median": {s: float(np.median(v)) for s, v in best.items()},
            "wins_ties_losses_vs_first": {
                s: [
                    sum(a > b + LEVEL for a, b in zip(best[s], best[reference], strict=True)),
                    sum(abs(a - b) <= LEVEL for a, b in zip(best[s], best[reference], strict=True)),
                    sum(a < b - LEVEL for a, b in zip(best[s], best[reference], strict=True)),
                ]
                for s in searches[1:]
            },
        }
        print(
            f"campaigns: median best {campaigns['median']}, W/T/L vs {reference}: "
            f"{campaigns['wins_ties_losses_vs_first']}"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "case": "substance",
        "searches": searches,
        "threads": args.threads,
        "level_tolerance": LEVEL,
        "problems": results,
        "summary": summary,
        "campaigns": campaigns,
    }
    args.out.write_text(json.dumps(payload, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""``smartlab demo``: a closed-loop campaign on the simulated lab, headless."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from .argtypes import positive_float, positive_int


def register(subparsers: Any) -> None:
    """Add the ``demo`` subcommand."""
    parser = subparsers.add_parser(
        "demo",
        help="run a closed-loop optimisation campaign on the simulated lab",
        description=(
            "Builds the simulated bench, lets the BoTorch planner choose recipes "
            "(reagent fraction, temperature, hold time, stirring) to maximise the yield, "
            "runs each one as a Bluesky plan, stores every run in the embedded catalog, "
            "and writes a PNG plot of the campaign. No server or account needed."
        ),
    )
    parser.add_argument(
        "--directory", default="./lab-data", help="lab data folder (default: %(default)s)"
    )
    parser.add_argument(
        "--budget", type=positive_int, default=16, help="experiments to run (default: %(default)s)"
    )
    parser.add_argument(
        "--batch", type=positive_int, default=2, help="suggestions per round (default: %(default)s)"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of bench and planner (default: %(default)s)"
    )
    parser.add_argument(
        "--time-scale",
        type=positive_float,
        default=5000.0,
        help="simulated seconds per real second (default: %(default)s)",
    )
    parser.add_argument(
        "--plot", default=None, help="PNG file to write (default: <directory>/campaign.png)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    """Run the demo campaign; return the exit code."""
    from tqdm import tqdm

    from ..campaign.loop import ExperimentResult, bench_planner, campaign
    from ..session import Lab

    if args.budget < 1 or args.batch < 1:
        raise SystemExit(f"--budget and --batch must be >= 1, got {args.budget} and {args.batch}")
    started = time.monotonic()
    directory = Path(args.directory)
    plot_path = Path(args.plot) if args.plot else directory / "campaign.png"
    with Lab.simulated(seed=args.seed, directory=directory, time_scale=args.time_scale) as lab:
        for report in lab.storage.reports:
            print(f"recovered: {report}")
        planner = bench_planner(seed=args.seed)
        bar = tqdm(total=args.budget, desc="experiments", unit="exp", disable=args.quiet)

        def advance(result: ExperimentResult) -> None:
            value = "failed" if result.outcomes is None else f"{result.outcomes['yield']:.1f} %"
            bar.set_postfix_str(f"last {value}, best {_best(planner)}")
            bar.update(1)

        run = lab.submit(
            campaign(lab, planner, budget=args.budget, batch=args.batch, on_result=advance),
            md={"purpose": "smartlab demo"},
        )
        uids = run.wait()
        bar.close()
        lab.wait(timeout=120)
        outcome = run_results(lab, planner.campaign_id)
        _plot(outcome, plot_path)
        best = planner.best()
        print(f"campaign {planner.campaign_id}: {len(outcome)} experiments, {len(uids)} runs")
        print(
            f"best yield {best['outcomes']['yield']:.1f} % at "
            + ", ".join(f"{k}={v:.3g}" for k, v in best["params"].items())
        )
        print(f"data:  {lab.directory} (tiled catalog in catalog/, journal in journal/)")
        print(f"plot:  {plot_path.resolve()}")
        print(f"time:  {time.monotonic() - started:.1f} s")
    return 0


def _best(planner: Any) -> str:
    try:
        return f"{planner.best()['outcomes']['yield']:.1f} %"
    except Exception:
        return "-"


def run_results(lab: Any, campaign_id: str) -> list[dict[str, Any]]:
    """Read every measured experiment of a campaign back from the catalog, oldest first."""
    from ..campaign.stored_runs import campaign_runs, stored_readout

    return [
        {
            "time": run.metadata["start"]["time"],
            "params": run.metadata["start"]["executed"],
            "yield": stored_readout(run),
        }
        for run in campaign_runs(lab.catalog, campaign_id)
    ]


def _plot(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    values = [r["yield"] for r in rows]
    best, running = [], float("-inf")
    for v in values:
        running = max(running, v if v is not None else float("-inf"))
        best.append(running)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    index = range(1, len(values) + 1)
    left.plot(index, [v if v is not None else float("nan") for v in values], "o", label="measured")
    left.step(index, best, where="post", label="best so far")
    left.set(xlabel="experiment", ylabel="yield (%)", title="Closed-loop campaign")
    left.legend()
    temps = [r["params"]["temperature_c"] for r in rows]
    scatter = right.scatter(
        temps,
        [r["params"]["a_fraction"] for r in rows],
        c=[v if v is not None else 0.0 for v in values],
        cmap="viridis",
    )
    right.set(xlabel="temperature (degC)", ylabel="fraction of stock a", title="Recipes tried")
    fig.colorbar(scatter, ax=right, label="yield (%)")
    fig.savefig(path, dpi=110)
    plt.close(fig)

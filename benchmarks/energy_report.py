"""Energy report of the simulated lab room: always-on against a setback schedule.

    python benchmarks/energy_report.py              # one simulated week
    python benchmarks/energy_report.py --days 28    # four weeks

Simulates the room hour by hour on a stepped clock (exact: power is piecewise
constant), prints kWh per system per day for both schedules and the saving,
writes JSON (default benchmarks/results/energy.json) and a PNG bar chart next to it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from smartlab_kernel.devices.room import ALWAYS_ON, SETBACK, SYSTEMS, setback_saving


def print_table(report: dict[str, Any]) -> None:
    print(f"kWh per day, mean over {report['days']} simulated days ({report['hoods']} hoods)")
    print(f"{'system':<12}{'always-on':>12}{'setback':>12}{'saving':>12}")
    for system in SYSTEMS:
        a, s = report["always_on"][system], report["setback"][system]
        print(f"{system:<12}{a:>12.1f}{s:>12.1f}{a - s:>12.1f}")
    a, s = sum(report["always_on"].values()), sum(report["setback"].values())
    print(f"{'total':<12}{a:>12.1f}{s:>12.1f}{a - s:>12.1f}")
    print(f"saving: {report['saving_kwh_per_day']:.1f} kWh/day ({report['saving_fraction']:.0%})")


def plot(report: dict[str, Any], path: Path) -> None:
    figure = Figure(figsize=(7, 3.5), dpi=100, layout="constrained")
    axes = figure.add_subplot(1, 1, 1)
    width = 0.38
    positions = range(len(SYSTEMS))
    axes.bar(
        [p - width / 2 for p in positions],
        [report["always_on"][s] for s in SYSTEMS],
        width,
        label="always-on",
    )
    axes.bar(
        [p + width / 2 for p in positions],
        [report["setback"][s] for s in SYSTEMS],
        width,
        label="setback",
    )
    axes.set_xticks(list(positions), list(SYSTEMS))
    axes.set_ylabel("kWh per day")
    axes.set_title(
        f"Simulated lab room, {report['days']} days: setback saves "
        f"{report['saving_kwh_per_day']:.0f} kWh/day ({report['saving_fraction']:.0%})"
    )
    axes.legend()
    figure.savefig(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=7, help="simulated days (from a Monday)")
    parser.add_argument("--hoods", type=int, default=2, help="number of fume hoods")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parent / "results" / "energy.json"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    report = setback_saving(args.days, seed=args.seed, hoods=args.hoods)
    report["seconds"] = time.perf_counter() - started
    report["schedules"] = {
        "always_on": ALWAYS_ON.__dict__,
        "setback": SETBACK.__dict__,
    }
    print_table(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, default=list))
    png = args.out.with_suffix(".png")
    plot(report, png)
    print(f"wrote {args.out} and {png} ({report['seconds']:.2f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

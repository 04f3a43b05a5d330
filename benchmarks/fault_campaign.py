"""The randomized fault campaign: many trials, every invariant checked after each.

    python benchmarks/fault_campaign.py                      # 500 trials, 1 in 25 a kill -9
    python benchmarks/fault_campaign.py --trials 20 --output benchmarks/results/fault-quick.json
    python benchmarks/fault_campaign.py --merge a.json b.json   # shards run side by side

Each trial runs a closed-loop campaign (batch 1 to 4) on the simulated lab
(room and LIMS attached) while pauses, interlock trips, aborts, a second
opener, a full disk and catalog outages are injected at random moments; one
trial in ``--kill-every`` runs the campaign in a worker process, kills it
with ``kill -9``, recovers, resumes the campaign from the catalog and checks
again. See :mod:`smartlab_kernel.testing.fault_campaign` for the invariants.
Prints one line per trial and writes every trial, its faults and its
violations to JSON.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from smartlab_kernel.testing.fault_campaign import TrialResult, run_fault_campaign

RESULTS = Path(__file__).parent / "results"


def main() -> int:
    """Run the campaign; exit 1 if any invariant was violated."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--trials", type=int, default=500, help="trials to run")
    parser.add_argument("--seed", type=int, default=20261204, help="seed of every choice")
    parser.add_argument("--kill-every", type=int, default=25, help="one kill trial in this many")
    parser.add_argument("--output", type=Path, default=RESULTS / "fault_campaign.json")
    parser.add_argument("--merge", type=Path, nargs="+", help="merge these result files instead")
    args = parser.parse_args()
    if args.merge:
        return merge(args.merge, args.output)

    started = time.monotonic()
    results: list[TrialResult] = []

    def report(result: TrialResult) -> None:
        results.append(result)
        mark = "OK " if not result.violations else "BAD"
        print(
            f"{mark} trial {result.trial:4d} {result.kind:10s} batch {result.batch} "
            f"budget {result.budget} runs {result.runs:2d} {result.seconds:5.1f} s "
            f"{result.outcome:9.9s} faults {result.faults} {result.violations}",
            flush=True,
        )
        write(args, results, time.monotonic() - started)

    with tempfile.TemporaryDirectory(prefix="fault-campaign-") as workdir:
        run_fault_campaign(
            args.trials, Path(workdir), seed=args.seed, kill_every=args.kill_every, on_trial=report
        )
    summary = write(args, results, time.monotonic() - started)
    print(json.dumps(summary["summary"], indent=2))
    return 1 if summary["summary"]["violations"] else 0


def merge(paths: list[Path], output: Path) -> int:
    """Write one result file from shards run side by side; exit 1 on any violation."""
    shards = [json.loads(path.read_text()) for path in paths]
    results = [TrialResult(**trial) for shard in shards for trial in shard["trials"]]
    args = argparse.Namespace(
        seed=[shard["seed"] for shard in shards],
        kill_every=shards[0]["kill_every"],
        output=output,
    )
    seconds = max(shard["summary"]["seconds"] for shard in shards)  # they ran at once
    summary = write(args, results, seconds)["summary"]
    print(json.dumps(summary, indent=2))
    return 1 if summary["violations"] else 0


def write(args: argparse.Namespace, results: list[TrialResult], seconds: float) -> dict:
    faults = Counter(f.split(" ")[0] for r in results for f in r.faults)
    summary = {
        "trials": len(results),
        "kill_trials": sum(r.kind == "kill" for r in results),
        "violations": sum(len(r.violations) for r in results),
        "trials_with_violations": sum(bool(r.violations) for r in results),
        "faults_injected": dict(faults),
        "runs": sum(r.runs for r in results),
        "batch_sizes": dict(Counter(r.batch for r in results)),
        "outcomes": dict(Counter(r.outcome.split(":")[0] for r in results)),
        "seconds": round(seconds, 1),
    }
    document = {
        "benchmark": "fault_campaign",
        "seed": args.seed,
        "kill_every": args.kill_every,
        "machine": {"python": sys.version.split()[0], "platform": platform.platform()},
        "summary": summary,
        "trials": [r.as_dict() for r in results],
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=1))
    return document


if __name__ == "__main__":
    sys.exit(main())

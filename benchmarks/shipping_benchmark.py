"""Where the shipper spends its time per run: each document's write, and verification.

    python benchmarks/shipping_benchmark.py               # 30 recipe runs
    python benchmarks/shipping_benchmark.py --runs 10     # quicker

Runs ``measure_recipe`` (one event with a 200-point spectrum, as the served
``measure`` plan) ``--runs`` times on a simulated lab with its embedded
catalog, waits until the shipper has stored and verified every run, and
times, on the shipper's thread, the write of each document kind
(``RunSink`` calls; the stop's time includes writing the held events),
the explicit flushes and :func:`verify_run`. Prints milliseconds per run
and writes ``benchmarks/results/shipping.json``.

The served lab ships the same way to a PostgreSQL-backed tiled server; the
split shows which step a faster shipper should attack first.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from smartlab_kernel import Lab
from smartlab_kernel.plans import Recipe, measure_recipe
from smartlab_kernel.storage import shipper, tiled_sink

RESULTS = Path(__file__).parent / "results" / "shipping.json"


class Timings:
    """Seconds and calls per label, collected by wrapped functions."""

    def __init__(self) -> None:
        self.seconds: defaultdict[str, float] = defaultdict(float)
        self.calls: Counter[str] = Counter()

    def timed(self, label: Callable[..., str], func: Callable[..., Any]) -> Callable[..., Any]:
        """Wrap ``func`` so each call adds its duration under ``label(*args)``."""

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                key = label(*args)
                self.seconds[key] += time.perf_counter() - began
                self.calls[key] += 1

        return wrapper


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    timings = Timings()
    sink = tiled_sink.RunSink
    originals = (sink.__call__, sink.flush, shipper.verify_run)
    sink.__call__ = timings.timed(lambda _self, name, _doc: f"write {name}", sink.__call__)  # type: ignore[method-assign]
    sink.flush = timings.timed(lambda _self: "flush held events", sink.flush)  # type: ignore[method-assign]
    shipper.verify_run = timings.timed(lambda *_: "verify", shipper.verify_run)
    try:
        with Lab.simulated(seed=0, directory=tempfile.mkdtemp(), time_scale=20000) as lab:
            devices = {k: lab.devices[k] for k in ("dispenser", "reactor", "robot", "spectrometer")}
            recipe = Recipe({"a": 1.0, "b": 1.0}, hold_s=5.0)
            began = time.perf_counter()
            for _ in range(args.runs):
                lab.submit(measure_recipe(recipe, **devices)).wait(60)
            ran = time.perf_counter() - began
            if not lab.storage.wait_shipped(600):
                raise RuntimeError("the shipper did not store every run within 600 s")
            stored = time.perf_counter() - began
    finally:
        sink.__call__, sink.flush, shipper.verify_run = originals  # type: ignore[method-assign]

    per_run_ms = {
        key: round(1000 * seconds / args.runs, 1)
        for key, seconds in sorted(timings.seconds.items(), key=lambda kv: -kv[1])
    }
    report = {
        "benchmark": "shipping",
        "machine": {"platform": platform.platform(), "python": platform.python_version()},
        "runs": args.runs,
        "plans_s": round(ran, 2),
        "stored_after_s": round(stored, 2),
        "runs_stored_per_s": round(args.runs / stored, 2),
        "per_run_ms": per_run_ms,
        "calls": dict(timings.calls),
    }
    print(f"{args.runs} runs: plans took {ran:.1f} s, all stored after {stored:.1f} s")
    for key, ms in per_run_ms.items():
        print(f"  {key:20s} {ms:7.1f} ms per run  ({timings.calls[key]} calls)")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=1))
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

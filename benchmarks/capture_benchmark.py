"""Per-event cost of capturing Bluesky documents: bare RunEngine vs TiledWriter vs ours.

    python benchmarks/capture_benchmark.py                 # N = 100, 1000, 10000
    python benchmarks/capture_benchmark.py --sizes 100 1000 --batch1-max 100   # quicker

For each detector (a scalar, and a 1000-point spectrum) and each N, runs
``count([det], num=N)`` on a fresh RunEngine with:

* ``bare``: no subscriber at all;
* ``tiled_default``: bluesky-tiled-plugins ``TiledWriter`` (default batch, events
  only in memory until the batch fills or the run ends: a crash loses them);
* ``tiled_batch1``: ``TiledWriter(batch_size=1)`` (one request per event: safe, slow;
  only up to ``--batch1-max`` events, because N = 10000 takes minutes);
* ``ours_window`` / ``ours_always``: :class:`smartlab_kernel.storage.DurableCapture`
  (journal first, shipped in the background) with durability ``"window"`` (the
  default: fsync at most every 50 ms and at every stop) and ``"always"`` (fsync
  per document).

Every writer goes to the same embedded tiled server
(:class:`smartlab_kernel.storage.EmbeddedCatalog`, as a lab uses it: in a
child process by default; ``--server thread`` runs it on a thread of this
process, as before). Reports seconds per event, the ratio to bare, and for
ours the catalog visibility latency and the time to drain the backlog after
the plan returns. Writes JSON to ``benchmarks/results/capture.json``.

Visibility latency of an event is the time from its ``time`` field (set when
the RunEngine creates it, just before subscribers get it) to the return of
the write request that put it in the catalog (``Shipper.latencies``): when
that request returns the server has committed the rows, so from then on any
client reading the catalog gets them. p50/p95 are over the run's events.
Measuring it this way adds no load; a client polling the catalog would
compete with the writer for the server and the CPUs.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bluesky import RunEngine
from bluesky.plans import count
from bluesky_tiled_plugins import TiledWriter
from ophyd.sim import SynSignal

from smartlab_kernel.session.context import package_versions
from smartlab_kernel.storage import Durability, DurableCapture, EmbeddedCatalog

WRITERS = ("bare", "tiled_default", "tiled_batch1", "ours_window", "ours_always")
TARGET_RATIO = 2.0
TARGET_P95_S = 1.0


def make_detector(kind: str, seed: int = 0) -> SynSignal:
    """A scalar or 1000-point-spectrum detector that costs next to nothing to read."""
    rng = np.random.default_rng(seed)
    if kind == "scalar":
        return SynSignal(func=lambda: float(rng.normal()), name="det")
    if kind == "spectrum":
        return SynSignal(func=lambda: rng.normal(size=1000), name="spectrum")
    raise ValueError(f"unknown detector kind {kind!r}")


def measure(
    writer: str, detector: SynSignal, num: int, catalog: EmbeddedCatalog, journal_root: Path
) -> dict[str, Any]:
    """Run ``count([detector], num)`` once with ``writer`` subscribed; return timings."""
    engine = RunEngine({}, context_managers=[])
    capture: DurableCapture | None = None
    finish: Callable[[], None] = lambda: None  # noqa: E731
    if writer.startswith("tiled"):
        client = catalog.reconnect()
        batch = {"batch_size": 1} if writer == "tiled_batch1" else {}
        engine.subscribe(TiledWriter(client, **batch))
    elif writer.startswith("ours"):
        durability: Durability = "window" if writer == "ours_window" else "always"
        capture = DurableCapture(catalog, tempfile.mkdtemp(dir=journal_root), durability=durability)
        engine.subscribe(capture)
        finish = capture.close
    gc.collect()
    started = time.perf_counter()
    engine(count([detector], num=num))
    elapsed = time.perf_counter() - started
    result: dict[str, Any] = {"seconds": elapsed, "per_event_s": elapsed / num}
    if capture is not None:
        drain_started = time.perf_counter()
        if not capture.wait_shipped(600):
            raise RuntimeError(f"{writer}: backlog not drained: {capture.shipper.last_error}")
        result["drain_s"] = time.perf_counter() - drain_started
        latencies = np.array(capture.shipper.latencies)
        result["visibility_events"] = len(latencies)
        result["visibility_p50_s"] = float(np.percentile(latencies, 50))
        result["visibility_p95_s"] = float(np.percentile(latencies, 95))
        result["visibility_max_s"] = float(latencies.max())
    finish()
    engine.loop.call_soon_threadsafe(engine.loop.stop)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument(
        "--batch1-max", type=int, default=1000, help="largest N run with TiledWriter batch_size=1"
    )
    parser.add_argument("--detectors", nargs="+", default=["scalar", "spectrum"])
    parser.add_argument(
        "--server",
        choices=["process", "thread"],
        default="process",
        help="where the embedded tiled server runs (a lab uses 'process')",
    )
    parser.add_argument(
        "--output", type=Path, default=Path(__file__).parent / "results" / "capture.json"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="N = 100 only, written to capture-quick.json (a smoke run; not the figures)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes = [100]
        if args.output == parser.get_default("output"):
            args.output = args.output.with_name("capture-quick.json")
    logging.getLogger("uvicorn").setLevel(logging.WARNING)

    workdir = Path(tempfile.mkdtemp(prefix="capture-benchmark-"))
    catalog = EmbeddedCatalog(workdir / "catalog", server=args.server)
    journal_root = workdir / "journals"
    journal_root.mkdir()
    load_before = os.getloadavg()
    rows: list[dict[str, Any]] = []
    skipped: list[str] = []
    try:
        for kind in args.detectors:
            detector = make_detector(kind)
            for writer in WRITERS:  # warm up imports, connections and the server
                measure(writer, detector, 5, catalog, journal_root)
            for num in args.sizes:
                bare = None
                for writer in WRITERS:
                    if writer == "tiled_batch1" and num > args.batch1_max:
                        skipped.append(f"{writer} {kind} N={num} (over --batch1-max)")
                        continue
                    result = measure(writer, detector, num, catalog, journal_root)
                    if writer == "bare":
                        bare = result["per_event_s"]
                    assert bare is not None
                    row = {"detector": kind, "N": num, "writer": writer, **result}
                    row["load_average_1min_after"] = os.getloadavg()[0]
                    row["ratio_to_bare"] = result["per_event_s"] / bare
                    rows.append(row)
                    print(format_row(row), flush=True)
                    write_report(
                        args.output, rows, skipped, load_before, args.server, complete=False
                    )
    finally:
        catalog.close()
    report = write_report(args.output, rows, skipped, load_before, args.server, complete=True)
    print_summary(rows, skipped, report["verdict"])
    print(f"wrote {args.output}")
    return 0


def write_report(
    output: Path,
    rows: list[dict[str, Any]],
    skipped: list[str],
    load_before: tuple[float, float, float],
    server: str,
    complete: bool,
) -> dict[str, Any]:
    """Write the JSON report (also after each row, so an interrupted run keeps its rows)."""
    report = {
        "benchmark": "capture",
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
        },
        "versions": package_versions(),
        "embedded_server": server,
        "targets": {"ratio_to_bare_max": TARGET_RATIO, "visibility_p95_max_s": TARGET_P95_S},
        "skipped": skipped,
        "results": rows,
        "verdict": verdict(rows),
        "complete": complete,
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=1))
    return report


def format_row(row: dict[str, Any]) -> str:
    text = (
        f"{row['detector']:8} N={row['N']:<6} {row['writer']:14} "
        f"{row['per_event_s'] * 1e3:8.3f} ms/event  x{row['ratio_to_bare']:6.2f}"
    )
    if "visibility_p95_s" in row:
        text += (
            f"  visible p50 {row['visibility_p50_s']:.3f} s p95 {row['visibility_p95_s']:.3f} s"
            f"  drain {row['drain_s']:.3f} s"
        )
    return text


def verdict(rows: list[dict[str, Any]]) -> dict[str, Any]:
    ours = [r for r in rows if r["writer"] == "ours_window"]
    return {
        "ours_window_max_ratio": max((r["ratio_to_bare"] for r in ours), default=None),
        "ours_window_max_p95_s": max((r["visibility_p95_s"] for r in ours), default=None),
        "ratio_target_met": all(r["ratio_to_bare"] <= TARGET_RATIO for r in ours),
        "visibility_target_met": all(r["visibility_p95_s"] <= TARGET_P95_S for r in ours),
    }


def print_summary(rows: list[dict[str, Any]], skipped: list[str], result: dict[str, Any]) -> None:
    print()
    print("ratio of per-event cost to bare RunEngine")
    header = f"{'detector':8} {'N':>6} " + " ".join(f"{w:>14}" for w in WRITERS)
    print(header)
    keys = sorted({(r["detector"], r["N"]) for r in rows}, key=lambda k: (k[0], k[1]))
    for kind, num in keys:
        cells = []
        for writer in WRITERS:
            match = [r for r in rows if (r["detector"], r["N"], r["writer"]) == (kind, num, writer)]
            cells.append(f"{match[0]['ratio_to_bare']:14.2f}" if match else f"{'skipped':>14}")
        print(f"{kind:8} {num:>6} " + " ".join(cells))
    if skipped:
        print("skipped: " + "; ".join(skipped))
    print(
        f"ours (window): worst ratio {result['ours_window_max_ratio']:.2f} "
        f"(target <= {TARGET_RATIO}: {'met' if result['ratio_target_met'] else 'MISSED'}), "
        f"worst p95 visibility {result['ours_window_max_p95_s']:.3f} s "
        f"(target <= {TARGET_P95_S} s: {'met' if result['visibility_target_met'] else 'MISSED'})"
    )


if __name__ == "__main__":
    sys.exit(main())

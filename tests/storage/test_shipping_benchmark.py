"""The shipping benchmark runs, times every step it reports, and puts the shipper back."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from smartlab_kernel.storage import shipper, tiled_sink

ROOT = Path(__file__).resolve().parents[2]


def test_the_shipping_benchmark_reports_each_step_per_run(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT))
    try:
        from benchmarks import shipping_benchmark
    finally:
        sys.path.remove(str(ROOT))
    before = (tiled_sink.RunSink.__call__, tiled_sink.RunSink.flush, shipper.verify_run)
    out = tmp_path / "shipping.json"
    assert shipping_benchmark.main(["--runs", "2", "--output", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["runs"] == 2 and report["stored_after_s"] >= report["plans_s"] > 0
    steps = ("write start", "write descriptor", "write stop", "verify")
    assert all(report["per_run_ms"][step] > 0 for step in steps), report["per_run_ms"]
    assert report["calls"]["verify"] == 2 and report["calls"]["write stop"] == 2
    after = (tiled_sink.RunSink.__call__, tiled_sink.RunSink.flush, shipper.verify_run)
    assert after == before  # the timing wrappers are removed

"""The shipping benchmark runs, times and counts every step it reports, and puts things back."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import httpx

from smartlab_kernel.storage import shipper, tiled_sink

ROOT = Path(__file__).resolve().parents[2]


def test_the_shipping_benchmark_reports_each_step_per_run(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT))
    try:
        from benchmarks import shipping_benchmark
    finally:
        sys.path.remove(str(ROOT))
    patched = (
        tiled_sink.RunSink.__call__,
        tiled_sink.RunSink.flush,
        shipper.verify_runs,
        shipper.close_streams,
        httpx.Client.send,
    )
    out = tmp_path / "shipping.json"
    assert shipping_benchmark.main(["--runs", "2", "--output", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["runs"] == 2 and report["stored_after_s"] >= report["plans_s"] > 0
    steps = ("write start", "write descriptor", "write stop", "verify", "close streams")
    assert all(report["per_run_ms"][step] > 0 for step in steps), report["per_run_ms"]
    assert all(report["requests_per_run"][step] >= 1 for step in steps), report
    assert report["calls"]["verify"] == 2 and report["calls"]["write stop"] == 2
    assert report["server_cpu_ms_per_run"] > 0
    after = (
        tiled_sink.RunSink.__call__,
        tiled_sink.RunSink.flush,
        shipper.verify_runs,
        shipper.close_streams,
        httpx.Client.send,
    )
    assert after == patched  # the wrappers are removed

"""Responsiveness benchmark: the kernel stays interactive while a plan streams 100 events/s.

Starts a kernel (this repository's Python) with jupyter_client, builds a simulated
lab and a LivePlot in it, and submits a plan that emits events at a fixed rate.
Meanwhile it sends small execute requests and times each reply, and counts the
LivePlot updates that reach the client over iopub.

Targets: execute reply p95 <= 100 ms; LivePlot >= 20 updates/s. Prints the figures
and writes ``benchmarks/results/responsiveness.json``.

Run: ``.venv/bin/python benchmarks/responsiveness_benchmark.py [--rate 100] [--seconds 10]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from jupyter_client.manager import KernelManager

RESULTS = Path(__file__).parent / "results" / "responsiveness.json"

SETUP = """
import time, tempfile
import bluesky.plan_stubs as bps
import bluesky.preprocessors as bpp
from smartlab_kernel.session import Lab
from smartlab_kernel.widgets.live_plot import LivePlot
lab = Lab.simulated(seed=0, directory=tempfile.mkdtemp(), time_scale=1000)
reactor = lab.devices["reactor"]

def paced_count(n, rate):
    @bpp.run_decorator(md={"plan_name": "paced_count", "num_points": n})
    def inner():
        t0 = time.monotonic()
        for i in range(n):
            yield from bps.trigger_and_read([reactor.temperature])
            wait = t0 + (i + 1) / rate - time.monotonic()
            if wait > 0:
                yield from bps.sleep(wait)
    return (yield from inner())

plot = LivePlot(lab, y="reactor_temperature")
display(plot)
print(plot.comm.comm_id)
"""


def _execute(kc: Any, code: str, timeout: float = 120) -> tuple[str, float]:
    """Run ``code``; return its stdout and the seconds until the execute reply."""
    start = time.perf_counter()
    msg_id = kc.execute(code)
    reply = kc.get_shell_msg(timeout=timeout)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = kc.get_shell_msg(timeout=timeout)
    elapsed = time.perf_counter() - start
    if reply["content"]["status"] != "ok":
        raise RuntimeError(f"kernel error: {reply['content']}")
    return "", elapsed


def _drain(kc: Any, comm_id: str | None, log: list[tuple[float, dict[str, Any]]]) -> list[str]:
    texts = []
    while True:
        try:
            msg = kc.get_iopub_msg(timeout=0)
        except Exception:
            return texts
        now = time.perf_counter()
        if msg["msg_type"] == "stream":
            texts.append(msg["content"]["text"])
        elif msg["msg_type"] == "comm_msg" and (
            comm_id is None or msg["content"]["comm_id"] == comm_id
        ):
            log.append((now, msg["content"]["data"]))
        elif msg["msg_type"] == "error":
            raise RuntimeError("\n".join(msg["content"]["traceback"]))


def main() -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=100.0, help="events per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the plan")
    parser.add_argument("--interval", type=float, default=0.05, help="seconds between probes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "JUPYTER_PATH": tmp, "JUPYTER_DATA_DIR": tmp}
        subprocess.run(
            [sys.executable, "-m", "ipykernel", "install", "--user", "--name", "bench"],
            env=env,
            check=True,
            capture_output=True,
        )
        os.environ.update(env)
        km = KernelManager(kernel_name="bench")
        km.start_kernel()
        kc = km.client()
        kc.start_channels()
        kc.wait_for_ready(timeout=60)
        try:
            return _run(kc, args)
        finally:
            kc.execute("lab.close()")
            time.sleep(1)
            kc.stop_channels()
            km.shutdown_kernel(now=True)


def _run(kc: Any, args: argparse.Namespace) -> dict[str, Any]:
    log: list[tuple[float, dict[str, Any]]] = []
    _execute(kc, SETUP)
    time.sleep(0.5)
    comm_id = "".join(_drain(kc, None, [])).strip().splitlines()[-1]
    n = int(args.rate * args.seconds)
    _execute(kc, f"run = lab.submit(paced_count({n}, {args.rate}))")
    start = time.perf_counter()
    latencies = []
    while time.perf_counter() - start < args.seconds + 0.5:
        _, latency = _execute(kc, "1 + 1")
        latencies.append(latency)
        _drain(kc, comm_id, log)
        time.sleep(args.interval)
    _execute(kc, "run.wait(60)", timeout=90)
    time.sleep(0.5)
    _drain(kc, comm_id, log)
    _execute(kc, "print(run.events, run.elapsed, plot.points, plot.updates_sent)")
    time.sleep(0.3)
    events, elapsed, points, sent = "".join(_drain(kc, comm_id, log)).split()[-4:]
    updates = [t for t, data in log if data.get("method") == "custom"]
    span = (updates[-1] - updates[0]) if len(updates) > 1 else float("nan")
    ms = np.array(latencies) * 1000
    result = {
        "plan_events": int(events),
        "plan_seconds": round(float(elapsed), 3),
        "event_rate_hz": round(int(events) / float(elapsed), 1),
        "execute_requests": len(latencies),
        "execute_reply_ms": {
            "p50": round(float(np.percentile(ms, 50)), 2),
            "p95": round(float(np.percentile(ms, 95)), 2),
            "max": round(float(ms.max()), 2),
        },
        "liveplot_points": int(points),
        "liveplot_updates_sent": int(sent),
        "liveplot_updates_received": len(updates),
        "liveplot_updates_per_s": round(len(updates) / span, 1) if len(updates) > 1 else 0.0,
        "targets": {"execute_reply_p95_ms": 100, "liveplot_updates_per_s": 20},
    }
    result["passed"] = (
        result["execute_reply_ms"]["p95"] <= 100
        and result["liveplot_updates_per_s"] >= 20
        and result["liveplot_points"] == result["plan_events"]
    )
    return result


if __name__ == "__main__":
    figures = main()
    print(json.dumps(figures, indent=2))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"wrote {RESULTS}")
    sys.exit(0 if figures["passed"] else 1)

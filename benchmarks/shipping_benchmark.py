"""Where the shipper spends its time per run: each document's write, verification, closes.

    python benchmarks/shipping_benchmark.py               # 30 recipe runs, embedded catalog
    python benchmarks/shipping_benchmark.py --runs 10     # quicker
    python benchmarks/shipping_benchmark.py --served      # the served lab's tiled

Runs ``measure_recipe`` (one event with a 200-point spectrum, as the served
``measure`` plan) ``--runs`` times on a simulated lab with its embedded
catalog, waits until the shipper has stored and verified every run, closes
the lab (the shipper then closes the runs' streams, which it leaves for when
it is idle) and reports, per run:

* the time of each step on the shipper's threads: the write of each document
  kind (``RunSink`` calls; the stop's time includes writing the held events),
  the explicit flushes, verification (a batch's time shared among its runs)
  and closing the streams;
* the HTTP requests each step made;
* the catalog server's CPU time (from ``/proc``, Linux only).

With ``--served``, the runs go instead to the tiled of a throwaway lab
server (``Sandbox``: PostgreSQL catalog, API-key authentication, as
``smartlab serve``): one run is recorded on the simulated lab, then
``--runs`` copies of it (fresh uids) are journaled at once, as a burst of
queue plans would be, through :class:`~smartlab_kernel.storage.DurableCapture`.
Needs PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379.

Writes ``benchmarks/results/shipping.json`` (``shipping-served.json``).
Request counts and server CPU are the figures to compare between machines:
on shared cores the times move with the load, the requests do not.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from smartlab_kernel import Lab
from smartlab_kernel.plans import Recipe, measure_recipe
from smartlab_kernel.storage import DurableCapture, ServedCatalog, shipper, tiled_sink
from smartlab_kernel.storage.journal import read_journal

RESULTS = Path(__file__).parent / "results"


class Timings:
    """Seconds, calls and HTTP requests per label, collected by wrapped functions."""

    def __init__(self) -> None:
        self.seconds: defaultdict[str, float] = defaultdict(float)
        self.calls: Counter[str] = Counter()
        self.requests: Counter[str] = Counter()
        self._current = threading.local()

    def timed(self, label: Callable[..., str], func: Callable[..., Any]) -> Callable[..., Any]:
        """Wrap ``func`` so each call adds its duration (and requests) under ``label(*args)``."""

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            key = label(*args)
            outer = getattr(self._current, "label", None)
            self._current.label = key
            began = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                self._current.label = outer
                self.seconds[key] += time.perf_counter() - began
                self.calls[key] += 1

        return wrapper

    def timed_batch(self, label: str, func: Callable[..., Any]) -> Callable[..., Any]:
        """Wrap ``func(container, runs)`` so that each of ``runs`` counts as one call."""

        def wrapper(container: Any, runs: Any) -> Any:
            self._current.label = label
            began = time.perf_counter()
            try:
                return func(container, runs)
            finally:
                self._current.label = None
                self.seconds[label] += time.perf_counter() - began
                self.calls[label] += len(runs)

        return wrapper

    def count_request(self) -> None:
        """Count one HTTP request of a shipper thread under the step it belongs to.

        Requests of worker threads the shipper's clients start (dask's, when
        a tiled client reads a table) count as ``other threads``.
        """
        name = threading.current_thread().name
        if name.startswith("tiled-shipper"):
            self.requests[getattr(self._current, "label", None) or "connect"] += 1
        elif name.startswith("ThreadPoolExecutor"):
            self.requests["other threads"] += 1


@contextmanager
def instrumented(timings: Timings) -> Iterator[None]:
    """Time the shipper's steps and count its requests while inside; restore afterwards."""
    sink = tiled_sink.RunSink
    send = httpx.Client.send
    module = vars(shipper)  # (an older shipper verified one run at a time, and closed inline)
    names = [name for name in ("verify_runs", "verify_run", "close_streams") if name in module]
    saved: dict[str, Any] = {name: module[name] for name in names}
    originals = (sink.__call__, sink.flush)

    def counted_send(client: httpx.Client, request: httpx.Request, **kwargs: Any) -> Any:
        timings.count_request()
        return send(client, request, **kwargs)

    sink.__call__ = timings.timed(lambda _self, name, _doc: f"write {name}", sink.__call__)  # type: ignore[method-assign]
    sink.flush = timings.timed(lambda _self: "flush held events", sink.flush)  # type: ignore[method-assign]
    for name in names:
        if name == "verify_runs":
            module[name] = timings.timed_batch("verify", module[name])
        else:
            label = "verify" if name == "verify_run" else "close streams"
            module[name] = timings.timed(lambda *_, label=label: label, module[name])
    httpx.Client.send = counted_send  # type: ignore[assignment]
    try:
        yield
    finally:
        sink.__call__, sink.flush = originals  # type: ignore[method-assign]
        module.update(saved)
        httpx.Client.send = send  # type: ignore[method-assign]


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU seconds of process ``pid`` so far (0 where /proc is missing)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError, TypeError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _devices(lab: Lab) -> dict[str, Any]:
    return {k: lab.devices[k] for k in ("dispenser", "reactor", "robot", "spectrometer")}


RECIPE = Recipe({"a": 1.0, "b": 1.0}, hold_s=5.0)

Documents = list[tuple[str, dict[str, Any]]]


def run_embedded(runs: int, timings: Timings) -> dict[str, float]:
    """Run ``runs`` plans on a simulated lab; return plan, store and server CPU seconds."""
    with (
        instrumented(timings),
        Lab.simulated(seed=0, directory=tempfile.mkdtemp(), time_scale=20000) as lab,
    ):
        server = getattr(lab._catalog, "server_pid", None)
        cpu_before = cpu_seconds(server)
        began = time.perf_counter()
        for _ in range(runs):
            lab.submit(measure_recipe(RECIPE, **_devices(lab))).wait(60)
        ran = time.perf_counter() - began
        if not lab.storage.wait_shipped(600):
            raise RuntimeError("the shipper did not store every run within 600 s")
        stored = time.perf_counter() - began
        lab.storage.close(600)  # the stream closes left for an idle moment
        closed = time.perf_counter() - began
        cpu = cpu_seconds(server) - cpu_before
    return {"plans_s": ran, "stored_after_s": stored, "closed_after_s": closed, "server_cpu_s": cpu}


def recorded_run() -> Documents:
    """The documents of one ``measure_recipe`` run on the simulated lab."""
    directory = Path(tempfile.mkdtemp())
    with Lab.simulated(seed=0, directory=directory, time_scale=20000) as lab:
        lab.submit(measure_recipe(RECIPE, **_devices(lab))).wait(60)
        lab.storage.wait_shipped(60)
    [journal] = directory.rglob("shipped/*.jnl")
    return [(name, doc) for _, name, doc in read_journal(journal).records]


def with_fresh_uids(documents: Documents) -> Documents:
    """A copy of a run's documents under new uids (references follow)."""
    renamed: dict[str, str] = {}
    copied = []
    for name, doc in documents:
        doc = copy.deepcopy(doc)
        if "uid" in doc:
            renamed[doc["uid"]] = doc["uid"] = str(uuid.uuid4())
        for key in ("run_start", "descriptor"):
            if key in doc:
                doc[key] = renamed[doc[key]]
        copied.append((name, doc))
    return copied


def run_served(runs: int, documents: Documents, timings: Timings) -> dict[str, float]:
    """Journal ``runs`` copies of ``documents`` at once into a served lab's tiled."""
    from smartlab_kernel.serve.sandbox import Sandbox

    directory = Path(tempfile.mkdtemp())
    sandbox = Sandbox(directory / "server", students=1)
    sandbox.start()
    try:
        catalog = ServedCatalog(f"{sandbox.config.catalog_url}/api/v1", sandbox.server.service_key)
        server = sandbox.server.pid("tiled")
        capture = DurableCapture(catalog, directory / "journal")
        burst = [with_fresh_uids(documents) for _ in range(runs)]
        with instrumented(timings):
            cpu_before = cpu_seconds(server)
            began = time.perf_counter()
            for run in burst:
                for name, doc in run:
                    capture(name, doc)
            ran = time.perf_counter() - began
            if not capture.wait_shipped(600):
                raise RuntimeError("the shipper did not store every run within 600 s")
            stored = time.perf_counter() - began
            capture.close(600)
            closed = time.perf_counter() - began
            cpu = cpu_seconds(server) - cpu_before
    finally:
        sandbox.close()
    return {"plans_s": ran, "stored_after_s": stored, "closed_after_s": closed, "server_cpu_s": cpu}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--served", action="store_true", help="ship to a served lab's tiled")
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args(argv)
    output = args.output or RESULTS / ("shipping-served.json" if args.served else "shipping.json")

    timings = Timings()
    if args.served:
        measured = run_served(args.runs, recorded_run(), timings)
    else:
        measured = run_embedded(args.runs, timings)

    def per_run(value: float) -> float:
        return round(1000 * value / args.runs, 1)

    per_run_ms = {
        key: per_run(seconds)
        for key, seconds in sorted(timings.seconds.items(), key=lambda kv: -kv[1])
    }
    requests_per_run = {
        key: round(count / args.runs, 2) for key, count in timings.requests.most_common()
    }
    report = {
        "benchmark": "shipping",
        "catalog": "served (PostgreSQL, API keys)" if args.served else "embedded (SQLite)",
        "machine": {"platform": platform.platform(), "python": platform.python_version()},
        "load_average_1min": round(os.getloadavg()[0], 2),
        "runs": args.runs,
        "plans_s": round(measured["plans_s"], 2),
        "stored_after_s": round(measured["stored_after_s"], 2),
        "runs_stored_per_s": round(args.runs / measured["stored_after_s"], 2),
        "streams_closed_after_s": round(measured["closed_after_s"], 2),
        "per_run_ms": per_run_ms,
        "requests_per_run": requests_per_run,
        "server_cpu_ms_per_run": per_run(measured["server_cpu_s"]),
        "calls": dict(timings.calls),
    }
    requests = sum(timings.requests.values()) / args.runs
    print(
        f"{args.runs} runs ({report['catalog']}): plans took {measured['plans_s']:.1f} s, "
        f"all stored after {measured['stored_after_s']:.1f} s, streams closed after "
        f"{measured['closed_after_s']:.1f} s; {requests:.1f} requests and "
        f"{report['server_cpu_ms_per_run']} ms of server CPU per run"
    )
    for key, ms in per_run_ms.items():
        count = requests_per_run.get(key, 0)
        calls = timings.calls[key]
        print(f"  {key:20s} {ms:7.1f} ms per run  {count:5.2f} requests  ({calls} calls)")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=1))
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

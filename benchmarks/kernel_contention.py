"""A tutorial notebook in the Smart Lab kernel, with and without other busy processes.

The kernelspec starts the kernel with ``OMP_WAIT_POLICY=PASSIVE`` (see
``smartlab_kernel.kernel.kernelspec.KERNEL_ENV``). This script measures why:
it runs one notebook top to bottom in the kernel as installed and in the same
kernel without that variable (OpenMP's default, threads that spin between
parallel regions), on an idle machine and beside ``--burners`` CPU-bound
processes, and prints the wall times and their ratios.

Usage: python benchmarks/kernel_contention.py [--notebook 03_self_driving_dataset.ipynb]
       [--burners 3] [--out benchmarks/results/kernel_contention.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from smartlab_kernel.kernel.kernelspec import KERNEL_NAME, kernel_json

ROOT = Path(__file__).resolve().parents[1]
SPINNING = f"{KERNEL_NAME}_spinning"


def install_kernels(folder: Path) -> None:
    """The Smart Lab kernelspec, and a copy without its environment, under ``folder``."""
    for name, spec in ((KERNEL_NAME, kernel_json()), (SPINNING, kernel_json())):
        if name == SPINNING:
            spec.pop("env", None)
            spec["display_name"] = f"{spec['display_name']} (OpenMP default)"
        target = folder / "kernels" / name
        target.mkdir(parents=True)
        (target / "kernel.json").write_text(json.dumps(spec, indent=1))


@contextmanager
def burners(n: int) -> Iterator[None]:
    """``n`` processes that keep a core busy each, stopped on leaving."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    try:
        yield
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def run_notebook(path: Path, kernel: str) -> float:
    """Wall seconds of one run of every cell of a copy of ``path`` (errors raise)."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / path.name
        shutil.copy(path, copy)
        notebook = nbformat.read(copy, as_version=4)
        client = NotebookClient(
            notebook,
            timeout=900,
            startup_timeout=300,
            kernel_name=kernel,
            resources={"metadata": {"path": tmp}},
        )
        started = time.monotonic()
        client.execute()
        return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--notebook", default="03_self_driving_dataset.ipynb")
    parser.add_argument("--burners", type=int, default=3)
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks" / "results" / "kernel_contention.json"
    )
    args = parser.parse_args()
    notebook = ROOT / "notebooks" / args.notebook
    seconds: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as jupyter_path:
        install_kernels(Path(jupyter_path))
        os.environ["JUPYTER_PATH"] = jupyter_path
        for load in ("idle", f"{args.burners} busy processes"):
            seconds[load] = {}
            with burners(0 if load == "idle" else args.burners):
                for kernel, policy in ((KERNEL_NAME, "PASSIVE"), (SPINNING, "default")):
                    seconds[load][policy] = run_notebook(notebook, kernel)
                    print(f"{load:20s} OMP_WAIT_POLICY={policy:8s} {seconds[load][policy]:7.1f} s")
    ratios = {load: t["default"] / t["PASSIVE"] for load, t in seconds.items()}
    for load, ratio in ratios.items():
        print(f"{load:20s} default / PASSIVE = {ratio:.2f}")
    result = {
        "notebook": args.notebook,
        "cores": os.cpu_count(),
        "burners": args.burners,
        "seconds": seconds,
        "default_over_passive": ratios,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

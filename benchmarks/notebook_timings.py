"""Time every tutorial notebook (target: each under 2 minutes on 2 cores).

Usage: python benchmarks/notebook_timings.py [--out benchmarks/results/notebooks.json]
Prints a table and writes JSON. Wall times; compare runs on the same machine.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "notebooks.json"))
    args = parser.parse_args()
    timings = {}
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        with tempfile.TemporaryDirectory() as tmp:
            shutil.copy(path, tmp)
            notebook = nbformat.read(Path(tmp) / path.name, as_version=4)
            client = NotebookClient(
                notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": tmp}}
            )
            started = time.monotonic()
            client.execute()
            timings[path.name] = round(time.monotonic() - started, 1)
        verdict = "ok" if timings[path.name] < 120 else "OVER 2 min"
        print(f"{path.name:40s} {timings[path.name]:7.1f} s  {verdict}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"seconds": timings, "target_s": 120}, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

"""Running a notebook headless: a kernel that never answers is named, not a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat


def test_a_kernel_that_does_not_start_in_time_is_named_and_leaves_no_traceback(
    tmp_path: Path,
) -> None:
    """A kernel stuck starting (as one importing the lab stack on a loaded CI machine)."""
    spec = tmp_path / "share" / "jupyter" / "kernels" / "silent"
    spec.mkdir(parents=True)
    stuck = "import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); time.sleep(120)"
    argv = [sys.executable, "-c", stuck, "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "silent", "language": "python"})
    )
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "silent", "display_name": "silent"}
    notebook.cells.append(nbformat.v4.new_code_cell("print(1)"))
    nbformat.write(notebook, tmp_path / "n.ipynb")
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from smartlab_kernel.publish import KernelStartError, execute_notebook\n"
        "started = time.monotonic()\n"
        "try:\n"
        "    execute_notebook(Path('n.ipynb'), cwd=Path('.'), startup_timeout=3)\n"
        "except KernelStartError as exc:\n"
        "    print('refused:', exc)\n"
        "print(f'waited: {time.monotonic() - started:.1f}')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env={**os.environ, "JUPYTER_PATH": str(tmp_path / "share" / "jupyter")},
        capture_output=True,
        text=True,
        # importing the lab stack takes 7 s idle and went past the 50 s given before on a
        # loaded CI machine; what this test is about is timed in the script itself
        timeout=300,
        check=False,
    )
    assert "refused: the notebook's kernel 'silent' did not answer within 3 s" in done.stdout, (
        done.stdout + done.stderr
    )
    waited = float(done.stdout.split("waited: ")[1].split()[0])
    assert waited < 45.0, f"{waited} s: the allowance given, not nbclient's own 60 s"
    assert "Traceback" not in done.stderr, done.stderr

"""Install the "Smart Lab (Python 3)" Jupyter kernel."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

KERNEL_NAME = "smartlab"
DISPLAY_NAME = "Smart Lab (Python 3)"

#: The kernel's environment, set by Jupyter before the kernel starts (read
#: once, when the OpenMP runtime loads with torch, so it cannot be set from
#: inside the kernel). ``OMP_WAIT_POLICY=PASSIVE``: torch's OpenMP threads
#: sleep between parallel regions instead of spinning. With other processes
#: busy on the same cores (a test run, other students' kernels on a shared
#: server) the spinning made the planner's many small GP operations in a
#: kernel several times slower: tutorial 03 took 123 s instead of 29 s beside
#: three CPU-bound processes on two cores, and 27.0 s either way on an idle
#: machine (``benchmarks/kernel_contention.py``).
KERNEL_ENV: dict[str, str] = {"OMP_WAIT_POLICY": "PASSIVE"}


def kernel_json(python: str | None = None) -> dict[str, object]:
    """The kernel's ``kernel.json``: IPython with the smartlab extension and :data:`KERNEL_ENV`."""
    return {
        "argv": [
            python or sys.executable,
            "-m",
            "ipykernel_launcher",
            "-f",
            "{connection_file}",
            "--ext=smartlab_kernel.kernel",
        ],
        "display_name": DISPLAY_NAME,
        "language": "python",
        "metadata": {"debugger": True},
        "env": dict(KERNEL_ENV),
    }


def install_kernelspec(
    user: bool = False, prefix: str | None = None, python: str | None = None
) -> str:
    """Install the kernelspec and return the folder it went to.

    Args:
        user: Install for the current user (``~/.local/share/jupyter``).
        prefix: Install under this prefix (e.g. ``sys.prefix`` for the venv).
        python: Interpreter the kernel runs (default: this one).
    """
    from jupyter_client.kernelspec import KernelSpecManager

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / KERNEL_NAME
        folder.mkdir()
        (folder / "kernel.json").write_text(json.dumps(kernel_json(python), indent=1))
        return str(
            KernelSpecManager().install_kernel_spec(
                str(folder), KERNEL_NAME, user=user, prefix=None if user else prefix
            )
        )

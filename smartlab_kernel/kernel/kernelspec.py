"""Install the "Smart Lab (Python 3)" Jupyter kernel."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

KERNEL_NAME = "smartlab"
DISPLAY_NAME = "Smart Lab (Python 3)"


def kernel_json(python: str | None = None) -> dict[str, object]:
    """The kernel's ``kernel.json``: IPython with the smartlab extension loaded."""
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

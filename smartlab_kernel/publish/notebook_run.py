"""Execute a notebook headless on its kernel, and read the data of its figures.

A figure is compared by its data, not its pixels (fonts and renderers differ
between machines): after the last cell, a probe reads every matplotlib
figure the notebook's namespace holds (in namespace order) and returns, per
axes, the title, axis labels, legend texts, and the data of every line and
collection.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .errors import BundleError, KernelStartError

#: Marks the probe's output line.
_PROBE_MARK = "smartlab-figures:"
_PROBE = f"""
def __smartlab_figures():
    from matplotlib.figure import Figure

    figures = []
    for value in list(globals().values()):
        if isinstance(value, Figure) and not any(value is f for f in figures):
            figures.append(value)

    def axes_data(ax):
        legend = ax.get_legend()
        return {{
            "title": ax.get_title(),
            "xlabel": ax.get_xlabel(),
            "ylabel": ax.get_ylabel(),
            "legend": [t.get_text() for t in legend.get_texts()] if legend else [],
            "lines": [
                {{"label": line.get_label(), "xy": line.get_xydata().tolist()}}
                for line in ax.get_lines()
            ],
            "collections": [c.get_offsets().tolist() for c in ax.collections],
            "texts": [t.get_text() for t in ax.texts],
        }}

    return [[axes_data(ax) for ax in figure.axes] for figure in figures]


print({_PROBE_MARK!r}, __import__("json").dumps(__smartlab_figures()))
del __smartlab_figures
"""


def execute_notebook(
    path: Path,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 600.0,
    startup_timeout: float = 300.0,
) -> tuple[dict[str, Any], list[Any]]:
    """Run every cell of a notebook on its kernel; return it executed, and its figures' data.

    Args:
        path: The notebook.
        cwd: The kernel's working directory (relative paths in cells start here).
        env: Extra environment variables of the kernel process.
        timeout: Seconds each cell may take.
        startup_timeout: Seconds the kernel may take to start and answer. Starting
            imports the whole lab stack, which takes seconds on an idle machine
            and far longer on a busy one, so the allowance is generous
            (nbclient's own default, 60 s, was overrun on a loaded CI machine).

    Returns:
        The executed notebook (as a JSON dict, the probe cell removed) and the
        figures' data (see the module docstring).

    Raises:
        BundleError: If the probe finds no figure data (the kernel printed nothing).
        KernelStartError: If the kernel does not answer within ``startup_timeout``.
    """
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(_PROBE))
    kernel_name = notebook.metadata.get("kernelspec", {}).get("name", "python3")
    client = NotebookClient(
        notebook,
        timeout=int(timeout),
        startup_timeout=max(1, int(startup_timeout)),
        kernel_name=kernel_name,
        resources={"metadata": {"path": str(cwd)}},
    )
    try:
        client.execute(env={**os.environ, **dict(env or {})})
    except RuntimeError as exc:
        if "didn't respond" not in str(exc):  # nbclient's words for a kernel that never answered
            raise
        # nbclient has already shut that kernel down but leaves its at-exit clean-up
        # registered, which then fails at interpreter exit with an AssertionError.
        atexit.unregister(client._cleanup_kernel)
        raise KernelStartError(
            f"the notebook's kernel {kernel_name!r} did not answer within {startup_timeout:g} s "
            "of starting; on a busy machine allow it longer (--startup-timeout)"
        ) from exc
    probe = notebook.cells.pop()
    figures = _probed(probe)
    executed = json.loads(nbformat.writes(notebook))
    return executed, figures


def _probed(cell: Any) -> list[Any]:
    outputs = cell.get("outputs", [])
    text = "".join(
        o.get("text", "") for o in outputs if o.get("output_type") == "stream"
    )  # a long line may come in several stream messages
    if _PROBE_MARK in text:
        return list(json.loads(text.split(_PROBE_MARK, 1)[1]))
    shown = [dict(o) for o in outputs]
    raise BundleError(f"the figure probe printed nothing readable after the last cell: {shown}")


def lab_directory_of(cells: Sequence[Mapping[str, Any]], notebook_dir: Path) -> Path:
    """The lab directory of a notebook's first ``%lab open DIRECTORY``, relative to the notebook.

    Raises:
        BundleError: If no code cell opens a lab with ``%lab open``.
    """
    for cell in cells:
        if cell.get("cell_type") != "code":
            continue
        for line in "".join(cell.get("source", "")).splitlines():
            match = re.match(r"\s*%lab open\s+(.*)", line)
            if match:
                words = shlex.split(match.group(1))
                if words:
                    return (notebook_dir / words[0]).resolve()
    raise BundleError(
        "the notebook opens no lab with `%lab open DIRECTORY`; name the lab directory (--directory)"
    )


__all__ = ["execute_notebook", "lab_directory_of"]

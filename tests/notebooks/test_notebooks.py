"""Every tutorial notebook runs top to bottom (its own cells assert on the results).

How long each takes is measured by ``benchmarks/notebook_timings.py``, not
here: wall time on a shared machine is too noisy for a test.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
#: Executed copies, with their outputs: the docs render these when present (docs/hooks.py).
EXECUTED = ROOT / "build" / "executed" / "tutorials" / "notebooks"
ALL = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))


@pytest.mark.parametrize("name", ALL)
def test_notebook_runs_and_its_checks_pass(name: str, tmp_path: Path) -> None:
    shutil.copy(NOTEBOOKS / name, tmp_path / name)
    notebook = nbformat.read(tmp_path / name, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=600,  # per cell; generous because CI machines are shared and noisy
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    errors = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert not errors
    EXECUTED.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, EXECUTED / name)


def test_every_tutorial_is_collected() -> None:
    """The six tutorials of the docs are here, so none silently drops out of the suite."""
    prefixes = sorted(name[:2] for name in ALL)
    assert prefixes[:6] == ["01", "02", "03", "04", "05", "06"], ALL

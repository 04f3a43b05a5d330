"""``%lab`` says in words what matters first: a read-only lab, runs still being recovered."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from smartlab_kernel.kernel.magics import LabMagics, status_notes
from smartlab_kernel.session import Lab


class _StatusOnly:
    """A lab as ``%lab`` sees it: only its ``status()`` (here, of a lab recovering runs)."""

    def __init__(self, **status: Any) -> None:
        self._status = {"state": "idle", "read_only": False, "recovering": 0, **status}

    def status(self) -> dict[str, Any]:
        return dict(self._status)


def _lab_magic(lab: Any, capsys: pytest.CaptureFixture[str]) -> tuple[list[str], dict[str, Any]]:
    """Run ``%lab``; return the lines before its JSON, and the JSON."""
    status: dict[str, Any] = LabMagics(None, lab).lab_status("")
    out = capsys.readouterr().out
    head, brace, body = out.partition("{")
    assert json.loads(brace + body) == json.loads(json.dumps(status, default=str))
    return [line for line in head.splitlines() if line], status


def test_lab_says_how_many_runs_are_being_recovered(capsys: pytest.CaptureFixture[str]) -> None:
    # Recovery is usually over in a moment after a lab reopens: the count is faked here.
    notes, status = _lab_magic(_StatusOnly(recovering=2), capsys)
    assert status["recovering"] == 2
    assert len(notes) == 1
    assert notes[0].startswith("recovering 2 runs of an earlier session into the catalog")
    assert "lab.wait()" in notes[0]
    notes, _ = _lab_magic(_StatusOnly(recovering=1), capsys)
    assert notes[0].startswith("recovering 1 run of")
    notes, _ = _lab_magic(_StatusOnly(recovering=0), capsys)
    assert notes == [], "nothing said when nothing is recovered"


def test_lab_notes_a_read_only_lab(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lab = Lab.simulated(seed=0, directory=tmp_path / "lab", read_only=True)
    try:
        notes, status = _lab_magic(lab, capsys)
    finally:
        lab.close()
    assert status["read_only"] is True
    assert notes == [
        f"read-only: this lab only reads the catalog in {lab.directory} (another lab may "
        "write it); it runs no plans and recovers nothing"
    ]


def test_status_notes_of_a_remote_lab_without_those_keys() -> None:
    assert status_notes({"state": "idle"}) == []

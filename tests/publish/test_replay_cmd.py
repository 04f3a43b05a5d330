"""``smartlab replay`` tells the reader which packages differ from the recorded versions."""

from __future__ import annotations

from typing import Any

import pytest

from smartlab_kernel.cli.replay_cmd import _note_versions
from smartlab_kernel.session.context import package_versions


class _Recorded:
    def __init__(self, versions: dict[str, str]) -> None:
        self.versions = versions

    def read_json(self, name: str) -> Any:
        assert name == "versions.json"
        return {"recorded": self.versions}


def test_packages_of_other_versions_are_named(capsys: pytest.CaptureFixture[str]) -> None:
    here = package_versions()
    _note_versions(_Recorded({"botorch": "0.0.1", "numpy": here["numpy"]}))
    said = capsys.readouterr().err
    assert f"botorch 0.0.1 (here {here['botorch']})" in said
    assert "numpy" not in said


def test_the_same_versions_say_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    _note_versions(_Recorded(dict(package_versions())))
    assert capsys.readouterr().err == ""

"""BoTorch's compiled multi-objective kernel is built at install, not at the first suggestion."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from smartlab_kernel.cli.main import main
from smartlab_kernel.planner.compiled import build_multiobjective_kernel


def test_the_fused_kernel_is_built_or_the_reason_is_given() -> None:
    from botorch.acquisition.multi_objective import logei

    build = build_multiobjective_kernel()
    assert build.detail
    if os.environ.get("CI", "").lower() == "true":
        # CI machines have ninja and a C++ compiler: the fast path must be there
        assert build.compiled, build.detail
    assert (logei._C is not None) == build.compiled


def test_kernel_install_builds_it_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["kernel", "install", "--prefix", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "installed kernel 'Smart Lab (Python 3)'" in out
    assert "BoTorch's compiled multi-objective kernel is ready" in out or (
        "multi-objective suggestions use its pure-Python path" in out
    )


def test_kernel_install_can_leave_it_for_later(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["kernel", "install", "--prefix", str(tmp_path), "--no-compile"]) == 0
    assert "multi-objective" not in capsys.readouterr().out

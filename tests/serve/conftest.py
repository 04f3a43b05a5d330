"""Fixtures for the lab-server tests: real PostgreSQL and Redis on 127.0.0.1."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from smartlab_kernel.serve.sandbox import Sandbox, reachable

TEST_STUDENTS = 10


def require_service(name: str, host: str, port: int) -> None:
    """Skip (or, when CI=true, fail) if a service the tests need is unreachable."""
    if reachable(host, port):
        return
    message = f"{name} is not reachable at {host}:{port}"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def require_packages() -> None:
    for module in ("bluesky_queueserver", "bluesky_httpserver", "bluesky_queueserver_api"):
        try:
            __import__(module)
        except ImportError:
            message = f"{module} is not installed (pip install 'smartlab-kernel[served]')"
            if os.environ.get("CI") == "true":
                pytest.fail(message)
            pytest.skip(message)


def start_sandbox(directory: Path, students: int) -> Sandbox:
    """A started lab server (skips, or fails in CI, without PostgreSQL and Redis)."""
    require_packages()
    require_service("PostgreSQL", "127.0.0.1", 5432)
    require_service("Redis", "127.0.0.1", 6379)
    lab = Sandbox(directory, students=students)
    try:
        lab.start()
    except BaseException:
        lab.close()
        raise
    return lab


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """One lab server for the session: an instructor ``ta`` and ``student01``...``student10``."""
    lab = start_sandbox(tmp_path_factory.mktemp("serve") / "server", TEST_STUDENTS)
    try:
        yield lab
    finally:
        lab.close()

"""The instruments IOC (a hotplate in K, a detector, a motor record) as a test peer."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator

import pytest

from smartlab_kernel.testing import require_module

from .peers import PeerProcess, python_script

InstrumentsFactory = Callable[..., PeerProcess]


@pytest.fixture
def instruments_ioc() -> Iterator[InstrumentsFactory]:
    """Start ``instruments_ioc(prefix, time_scale=...)``; killed at teardown.

    One IOC at a time per test process: every IOC of a test run serves on the
    same Channel Access port (tests/adapters/conftest.py).
    """
    require_module("caproto", "pip install caproto")
    started: list[PeerProcess] = []

    def start(prefix: str, time_scale: float = 100.0) -> PeerProcess:
        command = [
            *python_script("instruments_ioc.py"),
            "--prefix",
            prefix,
            "--interfaces",
            "127.0.0.1",
            "--time-scale",
            str(time_scale),
        ]
        peer = PeerProcess(command, "Server startup complete", dict(os.environ))
        started.append(peer)
        return peer.start()

    yield start
    for peer in started:
        if peer.process is not None and peer.process.poll() is None:
            os.kill(peer.process.pid, signal.SIGCONT)  # a test may have frozen it
        peer.kill()

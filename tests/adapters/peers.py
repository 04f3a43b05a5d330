"""Protocol peers (a caproto IOC, a SiLA 2 server) run as real processes on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

ADAPTERS = Path(__file__).resolve().parents[2] / "smartlab_kernel" / "devices" / "adapters"


def peer_unavailable(reason: str) -> None:
    """Skip the test because its protocol peer cannot run here; fail instead when CI=true."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"protocol peer unavailable on CI: {reason}")
    pytest.skip(f"protocol peer unavailable: {reason}")


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """Return a port free for both TCP and UDP on 127.0.0.1 (best effort)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, kind) as first:
            first.bind(("127.0.0.1", 0))
            port = int(first.getsockname()[1])
        other = socket.SOCK_DGRAM if kind == socket.SOCK_STREAM else socket.SOCK_STREAM
        with socket.socket(socket.AF_INET, other) as second:
            try:
                second.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port found on 127.0.0.1")


class PeerProcess:
    """A server process that is ready once a line of its output contains ``ready_text``.

    Args:
        command: The command line.
        ready_text: Text the process prints when it serves.
        env: Environment of the process.
    """

    def __init__(self, command: Sequence[str], ready_text: str, env: dict[str, str]) -> None:
        self.command = list(command)
        self.ready_text = ready_text
        self.env = env
        self.output: list[str] = []
        self.process: subprocess.Popen[str] | None = None

    def start(self, timeout: float = 30.0) -> PeerProcess:
        """Start the process and wait until it is ready; skip (or fail on CI) if it is not."""
        ready = threading.Event()
        self.output = []
        self.process = subprocess.Popen(
            self.command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=self.env,
        )

        def pump(stream: object) -> None:
            for line in stream:  # type: ignore[attr-defined]
                self.output.append(line)
                if self.ready_text in line:
                    ready.set()

        threading.Thread(target=pump, args=(self.process.stdout,), daemon=True).start()
        deadline = time.monotonic() + timeout
        while not ready.wait(0.1):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                peer_unavailable(
                    f"{' '.join(self.command[:3])} did not start: {''.join(self.output)[-2000:]}"
                )
        return self

    def kill(self) -> None:
        """Kill the process (SIGKILL, as if the instrument lost power) and reap it."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


def python_script(name: str) -> list[str]:
    """The command line running an adapters module as a script (fast: no package import)."""
    return [sys.executable, str(ADAPTERS / name)]

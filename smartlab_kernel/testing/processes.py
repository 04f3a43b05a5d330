"""Real processes for fault tests: kill one mid-run, serve tiled from another."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .side_channel import count_side_channel_events


def crash_worker_command(
    directory: str | Path,
    side_channel: str | Path,
    *,
    events: int = 100_000,
    seed: int = 0,
    delay: float = 0.0,
) -> list[str]:
    """Return the command line of :mod:`smartlab_kernel.testing.crash_worker`.

    Args:
        directory: Lab directory the worker opens (and recovers).
        side_channel: File its event side channel appends to.
        events: Events the plan would record if not killed.
        seed: Bench seed.
        delay: Real seconds between events.
    """
    return [
        sys.executable,
        "-m",
        "smartlab_kernel.testing.crash_worker",
        str(directory),
        str(side_channel),
        f"--events={events}",
        f"--seed={seed}",
        f"--delay={delay}",
    ]


@dataclass(frozen=True)
class KillResult:
    """What happened to a process killed by :func:`kill_process_during_run`.

    Attributes:
        events_before_kill: Side-channel lines counted just before the signal.
        returncode: The process's return code (``-SIGKILL`` when killed).
        output: What it wrote to stdout and stderr.
    """

    events_before_kill: int
    returncode: int
    output: str


def kill_process_during_run(
    command: Sequence[str],
    side_channel: str | Path,
    *,
    after_events: int,
    extra_delay: float = 0.0,
    timeout: float = 120.0,
    env: Mapping[str, str] | None = None,
    log_file: str | Path | None = None,
) -> KillResult:
    """Start ``command``, wait until it has emitted ``after_events`` events, then ``kill -9`` it.

    Progress is read from the side-channel file the process appends one line
    to per event (see :class:`~smartlab_kernel.testing.side_channel.EventSideChannel`).

    Args:
        command: The process to run, e.g. :func:`crash_worker_command`.
        side_channel: The file it writes one line to per event.
        after_events: Kill once the file holds at least this many lines.
        extra_delay: Real seconds to wait after that, so the kill lands at a
            point the test does not control exactly.
        timeout: Real seconds to wait for the events before giving up.
        env: Environment of the process (default: this one's).
        log_file: Where its output goes (default: a file beside the side channel).

    Returns:
        How many events the side channel held at the kill, the return code and the output.

    Raises:
        RuntimeError: If the process exits, or does not reach ``after_events``
            within ``timeout``; the message holds its output.
    """
    side_channel = Path(side_channel)
    log_path = Path(log_file) if log_file else side_channel.with_suffix(".log")
    start_count = count_side_channel_events(side_channel)
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            list(command),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
        )
        deadline = time.monotonic() + timeout
        try:
            while True:
                seen = count_side_channel_events(side_channel) - start_count
                if seen >= after_events:
                    break
                if process.poll() is not None:
                    raise RuntimeError(
                        f"process exited with {process.returncode} after {seen} events, before "
                        f"the kill at {after_events}; output:\n{log_path.read_text()[-4000:]}"
                    )
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"process reached only {seen} of {after_events} events in {timeout} s; "
                        f"output:\n{log_path.read_text()[-4000:]}"
                    )
                time.sleep(0.005)
            if extra_delay > 0:
                time.sleep(extra_delay)
            counted = count_side_channel_events(side_channel) - start_count
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=30)
    return KillResult(counted, int(process.returncode), log_path.read_text())


_SERVE_SCRIPT = """
import signal, sys, threading
from tiled.server import SimpleTiledServer
server = SimpleTiledServer(sys.argv[1], api_key=sys.argv[2], port=int(sys.argv[3]))
print("ready", server.uri, flush=True)
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
stop.wait()
server.close()
"""


class TiledServerProcess:
    """A tiled server in a separate process, on a fixed port, that can be stopped and restarted.

    Example::

        server = TiledServerProcess(tmp_path / "tiled", port=free_port())
        server.start()
        catalog = ServedCatalog(server.uri, api_key=server.api_key)
        server.stop()      # the catalog is unreachable now
        server.start()     # same directory, same port: the data is back

    Args:
        directory: Where the server keeps its database and data files.
        port: TCP port on ``127.0.0.1``.
        api_key: The single user's key.
    """

    def __init__(self, directory: str | Path, port: int, api_key: str = "secret") -> None:
        self.directory = Path(directory)
        self.port = port
        self.api_key = api_key
        self._process: subprocess.Popen[bytes] | None = None
        self._log = self.directory.with_name(self.directory.name + "-server.log")

    @property
    def uri(self) -> str:
        """The API address, without the key."""
        return f"http://127.0.0.1:{self.port}/api/v1"

    @property
    def running(self) -> bool:
        """True while the server process is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 120.0) -> None:
        """Start the server and wait until it answers.

        Raises:
            RuntimeError: If it exits or is not ready within ``timeout``; the message
                holds its output.
        """
        if self.running:
            raise RuntimeError(f"the tiled server on port {self.port} is running already")
        self.directory.mkdir(parents=True, exist_ok=True)
        ready_before = self._output().count("ready ")
        with open(self._log, "ab") as log:
            self._process = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    _SERVE_SCRIPT,
                    str(self.directory),
                    self.api_key,
                    str(self.port),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while self._output().count("ready ") <= ready_before:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"tiled server exited with {self._process.returncode}:\n{self._output()}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"tiled server not ready in {timeout} s:\n{self._output()}")
            time.sleep(0.05)

    def _output(self) -> str:
        return self._log.read_text(errors="replace") if self._log.exists() else ""

    def stop(self, kill: bool = False) -> None:
        """Stop the server (``SIGTERM``, or ``SIGKILL`` with ``kill=True``) and wait for it."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        if kill:
            process.kill()
        else:
            process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


def free_port() -> int:
    """Return a TCP port on ``127.0.0.1`` that is free now (for :class:`TiledServerProcess`)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])

"""``smartlab serve`` as an administrator runs it: signals, a killed service, ``status``.

Issue 16.1 and 16.2: a killed tiled must not stop the lab, and SIGTERM (or
SIGINT) must stop every child process, not leave them running under pid 1.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from smartlab_kernel.serve.sandbox import Sandbox, reachable
from smartlab_kernel.serve.services import read_status

from .conftest import require_packages, require_service

# Starting a lab takes one to three minutes on a busy machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

START_TIMEOUT = 280.0
_MAIN = "import sys; from smartlab_kernel.cli.main import main; sys.exit(main())"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value))  # a TOML basic string is JSON-compatible here


def write_config(lab: Sandbox, path: Path) -> Path:
    """Write ``lab``'s configuration as the TOML file ``smartlab serve`` reads."""
    config = lab.config
    sections = {
        "redis": {"address": config.redis.address, "prefix": config.redis.prefix},
        "queue": {
            "http_port": config.queue.http_port,
            "zmq_control_port": config.queue.zmq_control_port,
            "zmq_info_port": config.queue.zmq_info_port,
        },
        "catalog": {"port": config.catalog.port, "postgres_uri": config.catalog.postgres_uri},
        "bench": {"time_scale": config.bench.time_scale},
        "lims": {"url": config.lims.url, "schema": config.lims.schema},
    }
    lines = [f"state_dir = {_toml_value(config.state_dir)}", ""]
    for name, values in sections.items():
        lines.append(f"[{name}]")
        lines += [f"{key} = {_toml_value(value)}" for key, value in values.items()]
        lines.append("")
    for user in config.users:
        lines += [
            "[[users]]",
            f"name = {_toml_value(user.name)}",
            f"role = {_toml_value(user.role)}",
            f"key_hash = {_toml_value(user.key_hash)}",
            "",
        ]
    path.write_text("\n".join(lines))
    return path


class Served:
    """A ``smartlab serve CONFIG`` process, its output collected in the background."""

    def __init__(self, config_path: Path) -> None:
        self.config_path = config_path
        self.process = subprocess.Popen(
            [sys.executable, "-c", _MAIN, "serve", str(config_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        #: Every process it started (with its start time, against pid reuse).
        self.seen: dict[int, float] = {}

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip())

    @property
    def output(self) -> str:
        """Everything it printed so far."""
        return "\n".join(self.lines)

    def note_children(self) -> list[psutil.Process]:
        """Record and return its descendants now."""
        try:
            children = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []
        for child in children:
            try:
                self.seen.setdefault(child.pid, child.create_time())
            except psutil.NoSuchProcess:
                continue
        return children

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        """Wait for 'lab server ready' (fail with its output if it exits first)."""
        deadline = time.monotonic() + timeout
        while not any("lab server ready" in line for line in self.lines):
            self.note_children()
            if self.process.poll() is not None:
                time.sleep(0.5)
                raise AssertionError(f"smartlab serve exited early:\n{self.output}")
            if time.monotonic() > deadline:
                raise AssertionError(f"smartlab serve not ready in {timeout} s:\n{self.output}")
            time.sleep(0.5)
        self.note_children()

    def alive(self) -> list[int]:
        """The processes it started that still run (zombies do not count)."""
        alive = []
        for pid, started in self.seen.items():
            try:
                process = psutil.Process(pid)
                if process.create_time() == started and process.status() != "zombie":
                    alive.append(pid)
            except psutil.NoSuchProcess:
                continue
        return alive

    def kill_everything(self) -> None:
        """Clean up whatever is left (for a failing test)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        for pid in self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def status(config_path: Path, *options: str) -> tuple[int, str]:
    """Run ``smartlab serve status CONFIG [options]``; return its exit code and output."""
    done = subprocess.run(
        [sys.executable, "-c", _MAIN, "serve", "status", str(config_path), *options],
        capture_output=True,
        text=True,
        timeout=240,  # importing smartlab_kernel takes long on a busy machine
    )
    assert done.stdout.strip(), done.stderr
    return done.returncode, done.stdout


def status_json(config_path: Path) -> tuple[int, dict[str, Any]]:
    """``smartlab serve status CONFIG --json``: its exit code and report."""
    code, output = status(config_path, "--json")
    return code, json.loads(output)


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll ``condition`` until it returns something true; return that."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.3)
    return value


@pytest.fixture
def lab_config(tmp_path: Path) -> Iterator[tuple[Sandbox, Path]]:
    """A sandbox configuration (database, Redis prefix, ports) written as TOML; not started."""
    require_packages()
    require_service("PostgreSQL", "127.0.0.1", 5432)
    require_service("Redis", "127.0.0.1", 6379)
    lab = Sandbox(tmp_path / "server", students=1)
    try:
        yield lab, write_config(lab, tmp_path / "lab.toml")
    finally:
        lab.close()


def ports(lab: Sandbox) -> list[int]:
    """Every port the lab's services listen on."""
    config = lab.config
    return [
        config.catalog.port,
        config.queue.http_port,
        config.queue.zmq_control_port,
        config.queue.zmq_info_port,
    ]


def test_sigterm_stops_every_child(lab_config: tuple[Sandbox, Path]) -> None:
    lab, config_path = lab_config
    served = Served(config_path)
    try:
        served.wait_ready()
        assert len(served.seen) >= 5  # tiled, watchdog, manager, worker, HTTP server
        started = time.monotonic()
        served.process.send_signal(signal.SIGTERM)
        served.process.wait(timeout=90)
        print(
            f"SIGTERM: smartlab serve and its children ended in {time.monotonic() - started:.1f} s"
        )
        assert served.process.returncode == 0, served.output
        assert served.alive() == [], served.output
        assert not any(reachable("127.0.0.1", port, 0.5) for port in ports(lab))
    finally:
        served.kill_everything()


def test_second_signal_forces_the_stop(lab_config: tuple[Sandbox, Path]) -> None:
    lab, config_path = lab_config
    served = Served(config_path)
    try:
        wait_for(lambda: len(served.note_children()) >= 3, 60, "the three services to start")
        served.process.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        started = time.monotonic()
        served.process.send_signal(signal.SIGINT)
        # The services are killed at once (they would otherwise stop one by
        # one); `smartlab serve` itself then exits, which on a 2-core machine
        # busy with browser tests has taken over 20 s of interpreter teardown.
        children = [pid for pid in served.seen if pid != served.process.pid]
        wait_for(lambda: not set(children) & set(served.alive()), 20, "the services killed")
        print(f"second signal: services ended in {time.monotonic() - started:.1f} s")
        served.process.wait(timeout=60)
        assert served.alive() == [], served.output
        assert not any(reachable("127.0.0.1", port, 0.5) for port in ports(lab))
    finally:
        served.kill_everything()


def test_killed_tiled_leaves_the_lab_serving_and_status_tells(
    lab_config: tuple[Sandbox, Path],
) -> None:
    lab, config_path = lab_config
    served = Served(config_path)
    try:
        served.wait_ready()
        tiled = next(
            p for p in served.note_children() if "smartlab_kernel.serve.tiled_app" in p.cmdline()
        )
        tiled.kill()
        killed_at = time.monotonic()
        time.sleep(8.0)  # it used to exit about 5 s after
        assert served.process.poll() is None, served.output
        assert reachable("127.0.0.1", lab.config.queue.http_port)

        # What `smartlab serve status` reads (the CLI itself is checked below).
        state = lab.config.state_path
        report = read_status(state)
        if report["services"]["tiled"]["state"] != "running":  # not back yet
            assert report["lab"] == "degraded"
            assert report["services"]["re-manager"]["state"] == "running"
            assert any(p.startswith("tiled") for p in report["problems"])

        def back() -> bool:
            report = read_status(state)
            return report["lab"] == "ok" and report["services"]["tiled"]["state"] == "running"

        wait_for(back, 240, "tiled to be back and the lab ok")
        print(f"tiled answered again {time.monotonic() - killed_at:.1f} s after SIGKILL")
        code, report = status_json(config_path)
        assert code == 0
        assert report["lab"] == "ok"
        assert report["services"]["tiled"]["restarts"] == 1
        assert report["services"]["tiled"]["pid"] != tiled.pid
        assert {"tiled", "re-manager", "http-server"} == set(report["services"])
        assert any("tiled exited (-9)" in event for event in report["events"])
        code, text = status(config_path)
        assert code == 0
        assert text.startswith("lab: ok")
        assert "tiled" in text and "restarts 1" in text

        served.note_children()
        served.process.send_signal(signal.SIGTERM)
        served.process.wait(timeout=90)
        assert served.alive() == [], served.output
        code, report = status_json(config_path)
        assert code == 3
        assert report["lab"] == "stopped"
    finally:
        served.kill_everything()

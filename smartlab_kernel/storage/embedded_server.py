"""An embedded tiled server that starts in about a second, for one lab directory.

tiled's ``SimpleTiledServer`` is what we want, except that every start runs
``python -m tiled catalog init`` in a subprocess (about 4 s, even when the
catalog exists). Here a new catalog is a copy of a template initialised once
per tiled version (by that same command) and cached, and an existing catalog
is opened as it is. The rest is tiled's own pieces: ``tiled.catalog.from_uri``,
``build_app`` with single-user API-key authentication, uvicorn on 127.0.0.1.

:class:`EmbeddedTiledServer` runs the server on a thread of the calling
process. :class:`SubprocessTiledServer` runs that same server in a child
process of its own (what a lab uses): a server thread shares the
interpreter lock with the RunEngine, and each time the RunEngine's thread
writes a journal record it gives the lock up and waits up to the switch
interval (5 ms) to get it back from a server thread busy with a request.
The child exits when the parent closes it, and also when the parent dies
(its standard input, a pipe from the parent, reaches end of file), so no
server outlives its lab.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import importlib.metadata
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Any

import httpx
import uvicorn

_STARTUP_TIMEOUT = 30.0
_TEMPLATE_LOCK = threading.Lock()


def _template_catalog() -> Path:
    version = importlib.metadata.version("tiled")
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "smartlab_kernel"
    template = cache / f"tiled-{version}-catalog-template.db"
    with _TEMPLATE_LOCK:
        if not template.is_file():
            cache.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=cache) as tmp:
                fresh = Path(tmp) / "catalog.db"
                done = subprocess.run(
                    [sys.executable, "-m", "tiled", "catalog", "init", f"sqlite:///{fresh}"],
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if done.returncode != 0:
                    raise RuntimeError(f"could not initialise a tiled catalog: {done.stderr}")
                os.replace(fresh, template)  # atomic: concurrent processes never see half a file
    return template


#: Requests that may use the DuckDB tables: anything that writes, and reads of tables.
_TABLE_READS = ("/api/v1/table/", "/api/v1/container/")


class TableRequestsInTurn:
    """ASGI middleware: requests that may use the DuckDB tables run one at a time.

    The embedded catalog keeps runs' tables in one DuckDB file, and tiled
    shares DuckDB's single connection among its request threads: a table
    read while the shipper appended to another table failed with 500
    ("Attempting to execute an unsuccessful or closed pending query
    result") or timed out (``tests/storage/test_embedded_concurrency.py``).
    A served lab keeps its tables in PostgreSQL instead, whose connections
    tiled pools; one user's embedded catalog takes turns, which costs it
    nothing while only the shipper writes. Metadata reads and array reads
    (files) still run side by side.

    Args:
        app: tiled's application.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self._lock: asyncio.Lock | None = None  # made on the server's loop

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Run the request, in turn if it may use a table."""
        if not self._may_use_tables(scope):
            await self.app(scope, receive, send)
            return
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:  # until the whole response is sent
            await self.app(scope, receive, send)

    @staticmethod
    def _may_use_tables(scope: Any) -> bool:
        if scope.get("type") != "http":
            return False
        if scope.get("method") not in ("GET", "HEAD"):
            return True
        path = str(scope.get("path", ""))
        return any(part in path for part in _TABLE_READS)


class _ThreadedServer(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # the notebook owns the signals
        pass


class EmbeddedTiledServer:
    """A tiled server for ``directory``, on a background thread, on 127.0.0.1.

    Args:
        directory: Holds ``catalog.db`` (metadata), ``data/`` and ``storage.duckdb``.
        api_key: The single user's key.

    Attributes:
        base: The server's address, ``http://127.0.0.1:<port>``.
        uri: The API address including the key, for ``tiled.client.from_uri``.
    """

    def __init__(self, directory: str | Path, api_key: str) -> None:
        from tiled.catalog import from_uri as catalog_from_uri
        from tiled.config import Authentication, StreamingCacheConfig
        from tiled.server.app import build_app
        from tiled.server.logging_config import LOGGING_CONFIG

        self.directory = Path(directory).resolve()
        (self.directory / "data").mkdir(parents=True, exist_ok=True)
        database = self.directory / "catalog.db"
        if not database.exists():
            shutil.copyfile(_template_catalog(), database)
        log_config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
        for handler, name in (("access", "access.log"), ("default", "error.log")):
            log_config["handlers"][handler]["class"] = "logging.FileHandler"
            log_config["handlers"][handler].pop("stream", None)
            log_config["handlers"][handler]["filename"] = str(self.directory / name)
        self.catalog = catalog_from_uri(
            database,
            writable_storage=[
                self.directory / "data",
                f"duckdb:///{self.directory / 'storage.duckdb'}",
            ],
            init_if_not_exists=False,
            cache_config=StreamingCacheConfig(uri="memory").model_dump(),
        )
        app = TableRequestsInTurn(
            build_app(self.catalog, authentication=Authentication(single_user_api_key=api_key))
        )
        self._server = _ThreadedServer(
            uvicorn.Config(app, host="127.0.0.1", port=0, loop="asyncio", log_config=log_config)
        )
        self._thread = threading.Thread(target=self._server.run, name="tiled-server", daemon=True)
        self._thread.start()
        try:
            self.base = self._wait_until_ready()
        except BaseException:
            self.close()
            raise
        self.uri = f"{self.base}/api/v1?api_key={api_key}"

    def _wait_until_ready(self) -> str:
        deadline = time.monotonic() + _STARTUP_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(
                    f"embedded tiled server did not start; see {self.directory / 'error.log'}"
                )
            time.sleep(0.02)
        host, port = self._server.servers[0].sockets[0].getsockname()[:2]
        base = f"http://{host}:{port}"
        with httpx.Client(trust_env=False) as client:
            while time.monotonic() < deadline:
                try:
                    if client.get(f"{base}/healthz", timeout=1.0).status_code == 200:
                        return base
                except httpx.RequestError:
                    pass
                time.sleep(0.05)
        raise RuntimeError(f"embedded tiled server at {base} did not become ready")

    def close(self) -> None:
        """Stop the server and wait for its thread."""
        self._server.should_exit = True
        self._thread.join(timeout=10)


# Run in the child with ``python -c``: the server module is run by its path,
# so the child imports tiled's server but not smartlab_kernel (whose import
# pulls in the planner, bluesky and more), and ``sys.path`` does not start
# with the storage folder, whose module names could shadow others.
_CHILD_BOOT = (
    "import runpy, sys; sys.path.pop(0); sys.argv.pop(0); "
    "runpy.run_path(sys.argv[0], run_name='__main__')"
)


class SubprocessTiledServer:
    """An :class:`EmbeddedTiledServer` for ``directory``, run in a child process.

    The child reads the API key from its standard input (not its command
    line, which other users can see), answers with the server's address,
    and serves until its standard input reaches end of file: on
    :meth:`close`, or when this process dies. The child is in a session of
    its own, so an interrupt sent to the notebook's process group (a kernel
    interrupt, Ctrl-C) does not stop the catalog under a running plan. Its
    messages go to ``<directory>/server-process.log``.

    Args:
        directory: As for :class:`EmbeddedTiledServer`.
        api_key: The single user's key.
        startup_timeout: Seconds to wait for the child to serve.

    Attributes:
        pid: The child's process id.
        uri: The API address including the key, for ``tiled.client.from_uri``.

    Raises:
        RuntimeError: If the child does not start serving in time (it is then killed).
    """

    def __init__(self, directory: str | Path, api_key: str, startup_timeout: float = 60.0) -> None:
        self.directory = Path(directory).resolve()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.log_path = self.directory / "server-process.log"
        self._closed = False
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    _CHILD_BOOT,
                    str(Path(__file__).resolve()),
                    str(self.directory),
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                start_new_session=True,
            )
        self.pid = self._process.pid
        try:
            stdin = self._process.stdin
            assert stdin is not None and self._process.stdout is not None
            stdin.write(f"{api_key}\n".encode())
            stdin.flush()
            base = self._read_address(self._process.stdout, startup_timeout)
        except BaseException:
            self.close(timeout=0)
            raise
        self.uri = f"{base}/api/v1?api_key={api_key}"

    def _read_address(self, stdout: IO[bytes], timeout: float) -> str:
        lines: list[bytes] = []
        reader = threading.Thread(target=lambda: lines.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        if not lines or not lines[0].strip():
            state = "did not answer in time" if reader.is_alive() else "exited"
            raise RuntimeError(
                f"embedded tiled server process {state}; see {self.log_path} "
                f"and {self.directory / 'error.log'}"
            )
        return str(json.loads(lines[0])["base"])

    def alive(self) -> bool:
        """Whether the child process is still running."""
        return self._process.poll() is None

    def close(self, timeout: float = 10.0) -> None:
        """Ask the child to stop (end of its input), wait ``timeout`` s, then kill it.

        Idempotent; returns once the child has exited.
        """
        if self._closed:
            return
        self._closed = True
        process = self._process
        if process.stdin is not None:
            with contextlib.suppress(OSError):  # the child is gone already
                process.stdin.close()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()  # after the child exited: no read is blocked on it


def _serve_child(directory: str) -> None:
    """The child of :class:`SubprocessTiledServer`: serve until stdin reaches end of file."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    answer, sys.stdout = sys.stdout, sys.stderr  # stray prints go to the log, not the parent
    api_key = sys.stdin.readline().strip()
    server = EmbeddedTiledServer(directory, api_key=api_key)
    try:
        answer.write(json.dumps({"base": server.base}) + "\n")
        answer.flush()
        sys.stdin.read()  # returns at end of file: the parent closed us or died
    finally:
        server.close()


if __name__ == "__main__":
    _serve_child(sys.argv[1])

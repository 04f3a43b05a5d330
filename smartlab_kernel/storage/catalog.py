"""Where runs are stored: an embedded tiled server, or a served one."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any, Literal

from tiled.client import from_uri
from tiled.client.base import BaseClient
from tiled.structures.core import Spec

from .tiled_login import TiledLogin, TokenAuth

RUNS_KEY = "runs"

ServerMode = Literal["process", "thread"]

# tiled keeps the single-user API key in process-wide settings, so a second
# embedded server on a thread with its own key would lock clients of the
# first one out. Every embedded server started by this process shares one
# key (they listen on localhost only).
_PROCESS_API_KEY = secrets.token_hex(16)


def _runs_container(root: BaseClient) -> BaseClient:
    if RUNS_KEY not in root:
        root.create_container(RUNS_KEY, specs=[Spec("CatalogOfBlueskyRuns", version="3.0")])
    return root[RUNS_KEY]


class EmbeddedCatalog:
    """A tiled server for ``directory``, started here (no set-up needed).

    A later :class:`EmbeddedCatalog` on the same directory sees the runs stored before.

    Args:
        directory: Folder for tiled's database and data files.
        server: ``"process"`` (default): the server runs in a child process,
            stopped by :meth:`close` or when this process dies, so it does
            not compete with the RunEngine for the interpreter lock (see
            ``docs/explanation/data-path.md``). ``"thread"``: on a thread of
            this process (starts about 2 s sooner, but slows a RunEngine of
            this process while it writes).

    Attributes:
        server_pid: The server process's id (``None`` for a thread).

    Raises:
        ValueError: If ``server`` is neither ``"process"`` nor ``"thread"``.
    """

    def __init__(self, directory: str | Path, server: ServerMode = "process") -> None:
        from .embedded_server import EmbeddedTiledServer, SubprocessTiledServer

        if server not in ("process", "thread"):
            raise ValueError(f"server must be 'process' or 'thread', got {server!r}")
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._server: EmbeddedTiledServer | SubprocessTiledServer
        if server == "process":
            self._server = SubprocessTiledServer(self.directory, api_key=_PROCESS_API_KEY)
            self.server_pid: int | None = self._server.pid
        else:
            self._server = EmbeddedTiledServer(self.directory, api_key=_PROCESS_API_KEY)
            self.server_pid = None
        self.uri: str = self._server.uri
        try:
            self.root = from_uri(self.uri)
            self.runs = _runs_container(self.root)
        except BaseException:
            self._server.close()
            raise

    def reconnect(self) -> BaseClient:
        """Return a fresh client on the runs container (one per thread is safest)."""
        return _runs_container(from_uri(self.uri))

    def close(self) -> None:
        """Stop the embedded server (and wait for its process or thread to end)."""
        self._server.close()


class ServedCatalog:
    """A tiled server run elsewhere (for example with a PostgreSQL catalog for a class).

    Args:
        uri: The server's API address, e.g. ``http://127.0.0.1:8000/api/v1``.
        api_key: The user's key.
        login: Log in with a password instead of sending a key (see
            :mod:`~smartlab_kernel.storage.tiled_login`: the server checks the
            resulting token without a database look-up, so each request costs
            it less; the lab service that ships runs uses this).
    """

    def __init__(
        self, uri: str, api_key: str | None = None, *, login: TiledLogin | None = None
    ) -> None:
        if api_key is not None and login is not None:
            raise ValueError("give a ServedCatalog an api_key or a login, not both")
        self.uri = uri
        self._api_key = api_key
        self._login = login
        self.root = self._connect()
        self.runs = _runs_container(self.root)

    def _connect(self) -> BaseClient:
        if self._login is None:
            return from_uri(self.uri, api_key=self._api_key)
        auth = TokenAuth(self._login.token_url(self.uri), self._login)
        return from_uri(self.uri, auth=auth, remember_me=False)

    def reconnect(self) -> BaseClient:
        """Return a fresh client on the runs container (logging in afresh, with a login)."""
        return _runs_container(self._connect())

    def close(self) -> None:
        """Nothing to stop: the server is not ours."""


def run_summary(run: Any) -> dict[str, Any]:
    """Return the start/stop metadata of a stored run as a plain dict."""
    metadata = dict(run.metadata)
    return {"start": dict(metadata.get("start", {})), "stop": dict(metadata.get("stop") or {})}

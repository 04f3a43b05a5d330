"""An embedded tiled server that starts in about a second, for one lab directory.

tiled's ``SimpleTiledServer`` is what we want, except that every start runs
``python -m tiled catalog init`` in a subprocess (about 4 s, even when the
catalog exists). Here a new catalog is a copy of a template initialised once
per tiled version (by that same command) and cached, and an existing catalog
is opened as it is. The rest is tiled's own pieces: ``tiled.catalog.from_uri``,
``build_app`` with single-user API-key authentication, uvicorn on 127.0.0.1.
"""

from __future__ import annotations

import copy
import importlib.metadata
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

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


class _ThreadedServer(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # the notebook owns the signals
        pass


class EmbeddedTiledServer:
    """A tiled server for ``directory``, on a background thread, on 127.0.0.1.

    Args:
        directory: Holds ``catalog.db`` (metadata), ``data/`` and ``storage.duckdb``.
        api_key: The single user's key.

    Attributes:
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
        app = build_app(self.catalog, authentication=Authentication(single_user_api_key=api_key))
        self._server = _ThreadedServer(
            uvicorn.Config(app, host="127.0.0.1", port=0, loop="asyncio", log_config=log_config)
        )
        self._thread = threading.Thread(target=self._server.run, name="tiled-server", daemon=True)
        self._thread.start()
        try:
            base = self._wait_until_ready()
        except BaseException:
            self.close()
            raise
        self.uri = f"{base}/api/v1?api_key={api_key}"

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

"""The lab's tiled server behind a request-body limit.

``python -m smartlab_kernel.serve.tiled_app --config_path tiled.yml`` does
what ``tiled serve config`` does (read the configuration, build the
application, run it with uvicorn and tiled's logging), with the application
behind :class:`~smartlab_kernel.serve.limits.BodyLimit`: tiled, like any
FastAPI application, reads and parses a body before it checks the key, so
200 MB sent without any key cost it about 400 MB. Requests with the key of
a writer (the lab service that uploads runs, instructors), whose hashes it
gets in :data:`~smartlab_kernel.serve.limits.WRITER_KEYS_ENV`, are not
limited; everyone else (students read only) gets
:data:`~smartlab_kernel.serve.limits.MAX_BODY_BYTES`.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .limits import MAX_BODY_BYTES, WRITER_KEYS_ENV, BodyLimit


def writer_key_hashes(text: str | None) -> frozenset[str]:
    """The key hashes in a comma-separated ``text`` (empty: none)."""
    return frozenset(part.strip() for part in (text or "").split(",") if part.strip())


def build(config_path: str, max_body_bytes: int = MAX_BODY_BYTES) -> tuple[Any, dict[str, Any]]:
    """Build tiled's application from its configuration, behind the body limit.

    Returns:
        ``(asgi_app, uvicorn_kwargs)``.
    """
    from tiled.commandline._serve import _setup_log_config
    from tiled.config import parse_configs
    from tiled.server.app import build_app_from_config

    parsed = parse_configs(Path(config_path))
    uvicorn_kwargs = dict(parsed.uvicorn)
    uvicorn_kwargs.setdefault("host", "127.0.0.1")
    uvicorn_kwargs.setdefault("port", 8000)
    uvicorn_kwargs["log_config"] = _setup_log_config(uvicorn_kwargs.get("log_config"), False)
    app = build_app_from_config(parsed)
    writers = writer_key_hashes(os.environ.get(WRITER_KEYS_ENV))
    return BodyLimit(app, max_bytes=max_body_bytes, writer_key_hashes=writers), uvicorn_kwargs


def main(argv: Sequence[str] | None = None) -> None:
    """Run the lab's tiled server (``--config_path``, ``--max-body-bytes``)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--config_path", required=True, type=Path)
    parser.add_argument("--max-body-bytes", type=int, default=MAX_BODY_BYTES)
    args = parser.parse_args(argv)
    app, uvicorn_kwargs = build(str(args.config_path), args.max_body_bytes)
    import uvicorn

    uvicorn.run(app, **uvicorn_kwargs)


if __name__ == "__main__":
    main()

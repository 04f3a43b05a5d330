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
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .access_policy import ADMIN_SCOPE
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
    settle_settings_override(app)
    writers = writer_key_hashes(os.environ.get(WRITER_KEYS_ENV))
    secrets = list(parsed.authentication.secret_keys or []) if parsed.authentication else []
    limited = BodyLimit(
        app,
        max_bytes=max_body_bytes,
        writer_key_hashes=writers,
        writer_token=admin_token_check(secrets),
    )
    return limited, uvicorn_kwargs


class _SettledOverrides(dict[Any, Any]):
    """Dependency overrides that FastAPI sees as none, while tiled can still look them up."""

    def __bool__(self) -> bool:
        return False


def settle_settings_override(app: Any) -> bool:
    """Drop tiled's one dependency override from FastAPI's view once it has become redundant.

    tiled overrides ``get_settings`` with a function that copies the
    configuration onto the object ``get_settings`` caches and returns that
    same object. Once it has run, the two are identical. But FastAPI, while
    ``app.dependency_overrides`` is not empty, rebuilds the whole dependency
    tree of every request (a signature inspection per dependency,
    fastapi#8402): a fifth of the lab's tiled CPU per request in a profile
    of a class's burst of runs. So the override is run here, and when it
    returns the very object ``get_settings`` caches, the overrides are
    replaced by a mapping FastAPI sees as empty; tiled's own start-up and
    shut-down code still finds the override in it. With a tiled whose
    override differs, nothing changes.

    Returns:
        Whether the override was settled.
    """
    from tiled.server.settings import get_settings

    overrides = app.dependency_overrides
    override = overrides.get(get_settings)
    if set(overrides) != {get_settings} or override() is not get_settings():
        return False
    app.dependency_overrides = _SettledOverrides(overrides)
    return True


def admin_token_check(secret_keys: Sequence[str]) -> Callable[[str], bool]:
    """A check that a bearer token was signed by this server for an administrator.

    Administrators' keys are the writers (the lab service, instructors); a
    token is an administrator's when it carries tiled's ``admin:apikeys``
    scope. Its expiry is not checked here: an expired token passes the body
    limit and tiled itself answers 401 (then the client logs in again and
    repeats the request), rather than 413, which it would not repeat.
    """
    import jwt
    from tiled.server.authentication import ALGORITHM

    def check(token: str) -> bool:
        for key in secret_keys:
            try:
                payload = jwt.decode(
                    token, key, algorithms=[ALGORITHM], options={"verify_exp": False}
                )
            except jwt.PyJWTError:
                continue
            return payload.get("type") == "access" and ADMIN_SCOPE in (payload.get("scp") or ())
        return False

    return check


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

"""The lab's queue HTTP server: bluesky-httpserver's application, closed and bounded.

``python -m smartlab_kernel.serve.http_app --config_path http-server.yml``
does what bluesky-httpserver's ``start_server`` does (read the configuration,
build the application, run it with uvicorn), with these changes:

* the whole application sits behind
  :class:`~smartlab_kernel.serve.limits.BodyLimit`, so a body over
  :data:`~smartlab_kernel.serve.limits.MAX_BODY_BYTES` is refused with 413
  before it is read (FastAPI parses a body before it checks the key);
* ``GET /api/plans/existing``, which the upstream server answers without
  any key, needs a key with ``read:resources`` (as ``/api/devices/existing``);
* ``GET /api/auth/whoami`` without a key answers 401 (upstream: 500);
* the routes that change the queue apply the lab's per-user policy
  (:mod:`~smartlab_kernel.serve.queue_policy`): students hold
  ``write:queue:edit`` so stock clients work, but edit their own items only;
* the server's connection to the RE Manager refuses queue items that fail
  :mod:`~smartlab_kernel.serve.validation`, whichever route sent them;
* ``GET /api/history/get`` sends one serialized copy of each version of the
  history (:mod:`~smartlab_kernel.serve.history_cache`), not a fresh copy
  for every student's poll.

Every route answers 401 without a valid key and 403 to a known user who
lacks the scope (:func:`~smartlab_kernel.serve.http_auth.principal_or_403`
replaces the server's key check, which says 401 to both).
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bluesky_httpserver.settings import get_settings
from fastapi import Depends, FastAPI, Request

from .history_cache import history_get
from .http_auth import caller, principal_or_403
from .limits import MAX_BODY_BYTES, BodyLimit
from .queue_policy import ROUTES as QUEUE_POLICY_ROUTES
from .validation import guard_manager_api

logger = logging.getLogger(__name__)


def shadow_route(app: FastAPI, path: str, method: str, endpoint: Callable[..., Any]) -> None:
    """Serve ``method path`` with ``endpoint`` instead of the upstream route.

    The new route is added through the application's router, so it gets the
    application's dependency overrides (settings, access managers), and put
    first: routes are matched in order, so the upstream one is never reached.
    (Since FastAPI 0.16x an included router's routes are not copied into the
    application, so they cannot be replaced in place.)
    """
    routes = app.router.routes
    app.router.add_api_route(path, endpoint, methods=[method], name=f"smartlab_{endpoint.__name__}")
    routes.insert(0, routes.pop())


async def plans_existing(
    payload: dict[str, Any] | None = None,
    principal: Any = Depends(caller("read:resources")),  # noqa: B008
) -> Any:
    """Existing plans (all in the RE environment), for a key with ``read:resources``."""
    from bluesky_httpserver.routers.core_api import plans_existing_handler

    return await plans_existing_handler(payload=dict(payload or {}))


def whoami(
    request: Request,
    principal: Any = Depends(caller()),  # noqa: B008
    settings: Any = Depends(get_settings),  # noqa: B008
) -> Any:
    """The key holder's principal (401 without a key; upstream fails with 500)."""
    from bluesky_httpserver.authentication import whoami as upstream

    return upstream(request=request, principal=principal, settings=settings)


def patch_app(app: FastAPI) -> FastAPI:
    """Close the open routes, apply the queue policy and guard item submission of ``app``."""
    from bluesky_httpserver.authentication import get_current_principal
    from bluesky_httpserver.resources import SERVER_RESOURCES

    app.dependency_overrides[get_current_principal] = principal_or_403
    shadow_route(app, "/api/plans/existing", "GET", plans_existing)
    shadow_route(app, "/api/auth/whoami", "GET", whoami)
    shadow_route(app, "/api/history/get", "GET", history_get)
    for path, method, endpoint in QUEUE_POLICY_ROUTES:
        shadow_route(app, path, method, endpoint)

    def guard() -> None:  # after the server's own startup, which connects to the manager
        guard_manager_api(SERVER_RESOURCES.RM)

    app.router.on_startup.append(guard)
    return app


def build(config_path: str, max_body_bytes: int = MAX_BODY_BYTES) -> tuple[Any, dict[str, Any]]:
    """Build the patched, body-limited application from a configuration file.

    Returns:
        ``(asgi_app, uvicorn_kwargs)``.
    """
    from bluesky_httpserver.app import build_app
    from bluesky_httpserver.config import construct_build_app_kwargs, parse_configs

    parsed = parse_configs(config_path)
    uvicorn_kwargs = dict(parsed.pop("uvicorn", {}))
    kwargs = construct_build_app_kwargs(parsed, source_filepath=config_path)
    app = patch_app(build_app(**kwargs))
    return BodyLimit(app, max_bytes=max_body_bytes), uvicorn_kwargs


def main(argv: Sequence[str] | None = None) -> None:
    """Run the lab's queue HTTP server (``--config_path``, ``--max-body-bytes``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config_path", required=True, type=Path)
    parser.add_argument("--max-body-bytes", type=int, default=MAX_BODY_BYTES)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("bluesky_httpserver").setLevel("INFO")
    app, uvicorn_kwargs = build(str(args.config_path), args.max_body_bytes)
    logger.info("request bodies over %d bytes are refused", args.max_body_bytes)
    import uvicorn

    uvicorn.run(app, **uvicorn_kwargs)


if __name__ == "__main__":
    main()

"""``GET /api/smartlab/info``: what a notebook needs to know after connecting with its key.

Added to the queueserver HTTP server as a custom router (see
:func:`~smartlab_kernel.serve.service_files.http_server_config`), so it has
the server's own key check: it answers the caller's name and roles and the
address of the lab's tiled catalog, refuses a missing or wrong key (401),
and a known user without ``read:status`` (403).
"""

from __future__ import annotations

import os
from typing import Any

from fastapi import APIRouter, Depends

from .http_auth import caller

#: Environment variable through which ``LabServer`` tells the router tiled's address.
CATALOG_URI_ENV = "SMARTLAB_SERVE_CATALOG_URI"

router = APIRouter(prefix="/api/smartlab")


@router.get("/info")
async def info(
    principal: Any = Depends(caller("read:status")),  # noqa: B008
) -> dict[str, Any]:
    """Return ``{"user", "roles", "catalog_uri"}`` for the key's holder."""
    identities = [identity.id for identity in principal.identities]
    return {
        "user": identities[0] if identities else None,
        "roles": list(principal.roles or []),
        "catalog_uri": os.environ.get(CATALOG_URI_ENV),
    }

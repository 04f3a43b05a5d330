"""tiled access policy of a served lab: a student reads only the runs they ran.

Loaded by the tiled server process (``access_control`` in the tiled
configuration that :mod:`~smartlab_kernel.serve.service_files` writes), so
the rule holds for every client, not just :class:`RemoteLab`: a student's
key used with a raw tiled client, ``curl`` or the web UI sees the same
thing.

The rule: in a catalog of Bluesky runs (a container with the
``CatalogOfBlueskyRuns`` spec), a student sees a run only if its start
document's ``operator`` is the student's user name. The queue's RunEngine
writes ``operator`` from the queue item's *authenticated* user (see
:mod:`~smartlab_kernel.serve.queue_engine`), not from what the client sent,
so a student cannot claim someone else's name. Keys with tiled's admin
scope (instructors and the lab service) see everything.

Why not tiled's ``TagBasedAccessPolicy``: it needs tag definitions kept in
the catalog database and a tag set on each node when it is created, which
the run writer of bluesky-tiled-plugins does not do. Ownership here is
already in every run's start document, so filtering on it needs no extra
state and also covers runs recorded before the policy was switched on.
"""

from __future__ import annotations

from typing import Any

from tiled.access_control.access_policies import ALL_ACCESS, NO_ACCESS
from tiled.access_control.protocols import AccessPolicy, normalize_access_tags
from tiled.access_control.scopes import ALL_SCOPES
from tiled.queries import Eq

#: The spec that marks a container of Bluesky runs.
RUNS_SPEC = "CatalogOfBlueskyRuns"
#: The start-document key that names who ran a run.
OWNER_KEY = "start.operator"
#: What a student's key may do anywhere it can see.
READ_SCOPES = frozenset({"read:metadata", "read:data"})
#: The scope that makes a key or token an administrator's (who reads and writes all).
ADMIN_SCOPE = "admin:apikeys"


def _is_admin(authn_scopes: Any) -> bool:
    return ADMIN_SCOPE in set(authn_scopes or ())


def _holds_runs(node: Any) -> bool:
    specs = getattr(node, "specs", None) or ()
    return any(getattr(spec, "name", spec) == RUNS_SPEC for spec in specs)


def user_name(principal: Any, provider: str) -> str | None:
    """Return the principal's user name from ``provider`` (``None`` if it has none)."""
    for identity in getattr(principal, "identities", None) or ():
        if identity.provider == provider:
            return str(identity.id)
    return None


class RunOwnerAccessPolicy(AccessPolicy):
    """Students read their own runs; administrators read and write everything.

    Args:
        provider: The identity provider whose user names are the ``operator`` values.
    """

    def __init__(self, *, provider: str) -> None:
        self.provider = provider

    async def init_node(
        self,
        principal: Any,
        authn_access_tags: Any,
        authn_scopes: Any,
        access_tags: Any = None,
    ) -> tuple[bool, Any]:
        """New nodes carry no tags: visibility comes from the run's ``operator``."""
        return False, normalize_access_tags(access_tags or ())

    async def allowed_scopes(
        self,
        node: Any,
        principal: Any,
        authn_access_tags: Any,
        authn_scopes: Any,
    ) -> Any:
        """Everything for an administrator; read-only for anyone else."""
        if _is_admin(authn_scopes):
            return ALL_SCOPES
        return set(READ_SCOPES) & set(authn_scopes or ())

    async def filters(
        self,
        node: Any,
        principal: Any,
        authn_access_tags: Any,
        authn_scopes: Any,
        scopes: Any,
    ) -> Any:
        """In a container of runs, keep a student's own runs only."""
        if _is_admin(authn_scopes):
            return ALL_ACCESS
        if not set(scopes) <= READ_SCOPES:
            return NO_ACCESS
        if not _holds_runs(node):
            return ALL_ACCESS
        name = user_name(principal, self.provider)
        if name is None:
            return NO_ACCESS
        return [Eq(OWNER_KEY, name)]

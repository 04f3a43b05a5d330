"""Who is calling the lab's HTTP server, with 401 and 403 kept apart.

The queueserver HTTP server's own key check answers 401 both to a request
with no valid key and to a known user whose key lacks a scope. HTTP says
401 for "who are you?" and 403 for "I know you, and no": a client that gets
401 with a good key thinks its key is wrong. :func:`caller` is the
dependency the lab's routes use instead: it takes the principal from the
server's check run without any scope, and then answers

* 401 if there is no key (the server's anonymous principal) -- an invalid
  key is already refused with 401 by the server's check;
* 403, naming the user, what is needed and what they have, if the key is
  valid but lacks a scope.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bluesky_httpserver.authentication import get_current_principal
from bluesky_httpserver.authorization._defaults import _DEFAULT_ANONYMOUS_PROVIDER_NAME
from fastapi import HTTPException, Security

#: The 401 message for a request without a key.
NO_KEY = "this endpoint needs an API key: send the header 'Authorization: ApiKey <your key>'"


def is_anonymous(principal: Any) -> bool:
    """Whether ``principal`` is the server's stand-in for a request without a key."""
    identities = getattr(principal, "identities", None) or ()
    return not identities or all(
        identity.provider == _DEFAULT_ANONYMOUS_PROVIDER_NAME for identity in identities
    )


def user_of(principal: Any) -> str:
    """The principal's user name (its first identity)."""
    identities = getattr(principal, "identities", None) or ()
    return str(identities[0].id) if identities else "?"


def check_scopes(principal: Any, scopes: tuple[str, ...]) -> Any:
    """Return ``principal`` if it is a known user holding ``scopes``.

    Raises:
        HTTPException: 401 without a key, 403 for a known user lacking a scope.
    """
    if is_anonymous(principal):
        raise HTTPException(status_code=401, detail=NO_KEY, headers={"WWW-Authenticate": "ApiKey"})
    missing = sorted(set(scopes) - set(principal.scopes or ()))
    if missing:
        raise HTTPException(
            status_code=403,
            detail=(
                f"{user_of(principal)!r} may not do this: it needs the scope(s) {missing}, "
                f"and {user_of(principal)!r} (roles {sorted(principal.roles or ())}) lacks them"
            ),
        )
    return principal


def caller(*scopes: str) -> Callable[..., Any]:
    """A FastAPI dependency returning the principal of a known user holding ``scopes``.

    Use as ``principal: Any = Depends(caller("read:queue"))``.
    """

    def dependency(
        principal: Any = Security(get_current_principal, scopes=[]),  # noqa: B008
    ) -> Any:
        return check_scopes(principal, scopes)

    return dependency

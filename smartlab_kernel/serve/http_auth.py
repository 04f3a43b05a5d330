"""Who is calling the lab's HTTP server, with 401 and 403 kept apart.

The queueserver HTTP server's own key check answers 401 both to a request
with no valid key and to a known user whose key lacks a scope. HTTP says
401 for "who are you?" and 403 for "I know you, and no": a client that gets
401 with a good key thinks its key is wrong. Here the server's check runs
without any scope, and then the answer is

* 401 if there is no key (the server's anonymous principal) -- an invalid
  key is already refused with 401 by the server's check;
* 403, naming the user, what is needed and what they have, if the key is
  valid but lacks a scope. The message starts as the server's own ("Not
  enough permissions"), which clients already recognise.

:func:`caller` is the dependency the lab's own routes use;
:func:`principal_or_403` replaces the server's check on *every* route
(``app.dependency_overrides``, see :mod:`~smartlab_kernel.serve.http_app`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bluesky_httpserver.authentication import (
    get_api_key,
    get_authenticators,
    get_current_principal,
    oauth2_scheme,
)
from bluesky_httpserver.authorization._defaults import _DEFAULT_ANONYMOUS_PROVIDER_NAME
from bluesky_httpserver.settings import get_settings
from bluesky_httpserver.utils import get_api_access_manager
from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import SecurityScopes

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
                f"Not enough permissions: {user_of(principal)!r} may not do this: it needs the "
                f"scope(s) {missing}, and {user_of(principal)!r} (roles "
                f"{sorted(principal.roles or ())}) lacks them"
            ),
        )
    return principal


def principal_or_403(
    request: Request,
    security_scopes: SecurityScopes,
    access_token: str | None = Depends(oauth2_scheme),
    api_key: str | None = Depends(get_api_key),
    settings: Any = Depends(get_settings),  # noqa: B008
    authenticators: Any = Depends(get_authenticators),  # noqa: B008
    api_access_manager: Any = Depends(get_api_access_manager),  # noqa: B008
) -> Any:
    """The server's ``get_current_principal``, but 403 for a known user lacking a scope.

    Installed with ``app.dependency_overrides[get_current_principal] =
    principal_or_403``, so every route's ``Security(get_current_principal,
    scopes=[...])`` comes here with its scopes. A missing or invalid key is
    refused (401) by the server's own check, run without scopes.

    Raises:
        HTTPException: 401 without a valid key, 403 for a known user lacking a scope.
    """
    principal = get_current_principal(
        request=request,
        security_scopes=SecurityScopes(scopes=[]),
        access_token=access_token,
        api_key=api_key,
        settings=settings,
        authenticators=authenticators,
        api_access_manager=api_access_manager,
    )
    needed = tuple(security_scopes.scopes)
    if set(needed) <= set(principal.scopes or ()):
        return principal  # as the server would (an anonymous principal included)
    return check_scopes(principal, needed)


def caller(*scopes: str) -> Callable[..., Any]:
    """A FastAPI dependency returning the principal of a known user holding ``scopes``.

    Use as ``principal: Any = Depends(caller("read:queue"))``.
    """

    def dependency(
        principal: Any = Security(get_current_principal, scopes=[]),  # noqa: B008
    ) -> Any:
        return check_scopes(principal, scopes)

    return dependency

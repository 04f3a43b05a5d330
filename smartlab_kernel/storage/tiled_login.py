"""Authenticate to a multi-user tiled server with a password login's access token.

tiled checks an API key against its authentication database on every
request: three look-ups (principal, scopes, access tags) and a commit of
the key's ``latest_activity``. Measured on the served lab (2 cores), that
is about 25 ms of a 45 ms metadata request, and shipping one run takes
about a dozen requests. An access token from tiled's own password login
(``POST /auth/provider/{provider}/token``, the OAuth2 password grant that
``tiled.client`` uses for ``login()``) is a signed JWT the server checks
with its secret key alone, no database. The lab service that ships runs
therefore logs in once and sends its token; when the token expires (tiled's
default: 15 minutes) or the server was restarted with new secret keys, the
next request gets 401 and :class:`TokenAuth` logs in again and repeats it.

Why our own ``httpx.Auth`` rather than ``Context.configure_auth``: tiled's
``TiledAuth`` refreshes with the refresh token and keeps the tokens in a
folder under the user's home; a service has its password at hand, so logging
in again is simpler, and nothing is written to disk.
"""

from __future__ import annotations

import threading
from collections.abc import Generator
from dataclasses import dataclass, field

import httpx


@dataclass(frozen=True)
class TiledLogin:
    """Who logs in, with which of the server's providers.

    Attributes:
        provider: The tiled authentication provider's name (its ``provider`` in
            the server's configuration).
        username: The user name the provider knows.
        password: Its password (kept out of ``repr``).
    """

    provider: str
    username: str
    password: str = field(repr=False)

    def token_url(self, api_uri: str) -> str:
        """The provider's token endpoint under ``api_uri`` (e.g. ``http://host:8000/api/v1``)."""
        return f"{api_uri.rstrip('/')}/auth/provider/{self.provider}/token"


class LoginError(RuntimeError):
    """The server refused the login (wrong password, unknown user or provider)."""


class TokenAuth(httpx.Auth):
    """Sends each request with an access token from a password login; logs in again on 401.

    Args:
        token_url: The provider's token endpoint (:meth:`TiledLogin.token_url`).
        login: The credentials.
    """

    requires_response_body = True  # the login's answer is read for its token

    def __init__(self, token_url: str, login: TiledLogin) -> None:
        self.token_url = token_url
        self.login = login
        self._token: str | None = None
        self._lock = threading.Lock()
        self.logins = 0

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Add the token (logging in first if there is none); on 401 log in again, once."""
        token = self._token
        if token is None:
            token = yield from self._log_in()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code != 401:
            return
        token = yield from self._log_in()
        request.headers["Authorization"] = f"Bearer {token}"
        yield request

    def _log_in(self) -> Generator[httpx.Request, httpx.Response, str]:
        form = {
            "grant_type": "password",
            "username": self.login.username,
            "password": self.login.password,
        }
        response = yield httpx.Request("POST", self.token_url, data=form)
        if response.status_code != 200:
            raise LoginError(
                f"tiled refused the login of {self.login.username!r} with provider "
                f"{self.login.provider!r} at {self.token_url}: "
                f"{response.status_code} {response.text[:200]}"
            )
        token = response.json().get("access_token")
        if not isinstance(token, str) or not token:
            raise LoginError(f"tiled's login answer at {self.token_url} holds no access token")
        with self._lock:
            self._token = token
            self.logins += 1
        return token

"""The lab service logs in to the served tiled and ships runs with a token (issue 16 #10).

tiled checks an API key against its database on every request (three
look-ups and a commit); a login's token is checked with the server's secret
alone. These run against the real served tiled of a sandbox lab.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import numpy as np
import pytest

from smartlab_kernel.serve.limits import MAX_BODY_BYTES
from smartlab_kernel.serve.sandbox import Sandbox
from smartlab_kernel.serve.service_files import PROVIDER, SERVICE_USER
from smartlab_kernel.storage import ServedCatalog, TiledLogin
from smartlab_kernel.storage.tiled_login import LoginError, TokenAuth


def api_uri(sandbox: Sandbox) -> str:
    return f"{sandbox.config.catalog_url}/api/v1"


@pytest.fixture
def service(sandbox: Sandbox) -> Iterator[tuple[ServedCatalog, list[str]]]:
    """The service's catalog client, and the Authorization scheme of each request it sends."""
    catalog = ServedCatalog(
        api_uri(sandbox), login=TiledLogin(PROVIDER, SERVICE_USER, sandbox.server.service_password)
    )
    schemes: list[str] = []

    def record(request: httpx.Request) -> None:
        schemes.append(request.headers.get("Authorization", "none").split(" ")[0])

    catalog.runs.context.http_client.event_hooks["request"].append(record)
    yield catalog, schemes
    catalog.close()


def auth_of(catalog: ServedCatalog) -> TokenAuth:
    auth = catalog.runs.context.http_client.auth
    assert isinstance(auth, TokenAuth)
    return auth


def test_the_service_writes_with_a_token_and_no_key(
    service: tuple[ServedCatalog, list[str]],
) -> None:
    catalog, schemes = service
    node = catalog.runs.create_container(metadata={"start": {"uid": "login-test"}})
    # over the body limit for students: an administrator's token passes it
    spectrum = np.arange(MAX_BODY_BYTES // 8 + 1000, dtype="float64")
    node.write_array(spectrum, key="spectrum")
    assert np.array_equal(node["spectrum"].read(), spectrum)
    assert schemes and set(schemes) == {"Bearer"}, schemes
    assert auth_of(catalog).logins == 1


def test_a_stale_token_means_one_more_login_and_the_request_repeated(
    service: tuple[ServedCatalog, list[str]],
) -> None:
    """An expired token, or one from before a restart with new secrets, is refused with 401."""
    catalog, _ = service
    auth = auth_of(catalog)
    auth._token = "eyJhbGciOiJIUzI1NiJ9.e30.not-signed-by-this-server"
    node = catalog.runs.create_container(metadata={"note": "after a stale token"})
    assert node.metadata["note"] == "after a stale token"
    assert auth.logins == 2


def test_a_wrong_password_is_refused_by_name(sandbox: Sandbox) -> None:
    with pytest.raises(LoginError, match=rf"login of '{SERVICE_USER}' with provider '{PROVIDER}'"):
        ServedCatalog(api_uri(sandbox), login=TiledLogin(PROVIDER, SERVICE_USER, "wrong"))


def test_users_have_keys_only_no_password_login(sandbox: Sandbox) -> None:
    """Only the service has a password; a student cannot log in with an empty one."""
    for password in ("", sandbox.server.service_password):
        with pytest.raises(LoginError, match="refused the login of 'student01'"):
            ServedCatalog(api_uri(sandbox), login=TiledLogin(PROVIDER, "student01", password))


def test_a_key_and_a_login_together_are_refused() -> None:
    with pytest.raises(ValueError, match="an api_key or a login, not both"):
        ServedCatalog("http://127.0.0.1:1/api/v1", "key", login=TiledLogin("p", "u", "x"))

"""The rules behind the served lab's limits, checked without the services (issue 16 #6, #7, #9).

Body limit, item checks, 401 against 403, the ``umask`` setting and private files.
"""

from __future__ import annotations

import asyncio
import stat
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import HTTPException

from smartlab_kernel.serve.access_policy import ADMIN_SCOPE
from smartlab_kernel.serve.config import parse_config
from smartlab_kernel.serve.errors import ConfigError
from smartlab_kernel.serve.files import open_private, private_dir
from smartlab_kernel.serve.http_auth import check_scopes
from smartlab_kernel.serve.keys import hash_key, new_key
from smartlab_kernel.serve.limits import MAX_ARGUMENTS_BYTES, MAX_META_BYTES, BodyLimit
from smartlab_kernel.serve.tiled_app import admin_token_check
from smartlab_kernel.serve.validation import ItemRefused, check_plan_item, refusal

# -- the body limit -----------------------------------------------------------


def call(
    limit: BodyLimit, headers: dict[str, str], chunks: list[bytes], query: str = ""
) -> tuple[int, bytes, int]:
    """Run one request through ``limit``; return (status, body the app got, chunks read)."""
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "query_string": query.encode(),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }
    pending = list(chunks)
    read = 0
    sent: list[dict[str, Any]] = []
    received = bytearray()

    async def receive() -> dict[str, Any]:
        nonlocal read
        read += 1
        chunk = pending.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(pending)}

    async def send(message: Any) -> None:
        sent.append(message)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            received.extend(message.get("body", b""))
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    limit.app = app
    asyncio.run(limit(scope, receive, send))
    return int(sent[0]["status"]), bytes(received), read


def test_a_declared_length_over_the_limit_is_refused_unread() -> None:
    limit = BodyLimit(lambda *a: None, max_bytes=10)  # type: ignore[arg-type]
    status, got, read = call(limit, {"Content-Length": "11"}, [b"x" * 11])
    assert (status, got, read) == (413, b"", 0)


def test_a_streamed_body_is_refused_as_soon_as_it_goes_over() -> None:
    limit = BodyLimit(lambda *a: None, max_bytes=10)  # type: ignore[arg-type]
    chunks = [b"x" * 6, b"x" * 6, b"x" * 6, b"x" * 6]
    status, got, read = call(limit, {"Transfer-Encoding": "chunked"}, chunks)
    assert (status, got, read) == (413, b"", 2)


def test_a_body_under_the_limit_reaches_the_app_unchanged() -> None:
    limit = BodyLimit(lambda *a: None, max_bytes=10)  # type: ignore[arg-type]
    assert call(limit, {"Content-Length": "10"}, [b"0123456789"])[:2] == (200, b"0123456789")
    streamed = call(limit, {"Transfer-Encoding": "chunked"}, [b"01234", b"56789"])
    assert streamed[:2] == (200, b"0123456789")


def test_a_writer_key_is_not_limited() -> None:
    writer, other = new_key(), new_key()
    limit = BodyLimit(
        lambda *a: None,  # type: ignore[arg-type]
        max_bytes=10,
        writer_key_hashes=frozenset({hash_key(writer)}),
    )
    big = {"Content-Length": "20"}
    assert call(limit, {**big, "Authorization": f"Apikey {writer}"}, [b"x" * 20])[0] == 200
    assert call(limit, big, [b"x" * 20], query=f"api_key={writer}")[0] == 200
    assert call(limit, {**big, "Authorization": f"Apikey {other}"}, [b"x" * 20])[0] == 413
    assert call(limit, {**big, "Authorization": "Apikey not-hex"}, [b"x" * 20])[0] == 413


def token(secret: str, scopes: list[str], expires_in: float = 900.0, kind: str = "access") -> str:
    """A token as tiled mints it (HS256; ``scp`` holds the scopes)."""
    import jwt

    claims = {"sub": "x", "type": kind, "scp": scopes, "exp": int(time.time() + expires_in)}
    return jwt.encode(claims, secret, algorithm="HS256")


def test_an_administrators_token_from_this_server_is_not_limited() -> None:
    """The lab service ships runs with a login's token (storage/tiled_login.py)."""
    secret = "s" * 32
    limit = BodyLimit(
        lambda *a: None,  # type: ignore[arg-type]
        max_bytes=10,
        writer_token=admin_token_check([secret]),
    )
    big = {"Content-Length": "20"}

    def status(bearer: str) -> int:
        return call(limit, {**big, "Authorization": f"Bearer {bearer}"}, [b"x" * 20])[0]

    assert status(token(secret, ["write:data", ADMIN_SCOPE])) == 200
    # expired: passed on, so tiled answers 401 and the client logs in again
    assert status(token(secret, [ADMIN_SCOPE], expires_in=-60)) == 200
    assert status(token(secret, ["read:data", "write:data"])) == 413  # not an administrator
    assert status(token("t" * 32, [ADMIN_SCOPE])) == 413  # signed by another server
    assert status(token(secret, [ADMIN_SCOPE], kind="refresh")) == 413
    assert status("not-a-token") == 413


# -- queue items ----------------------------------------------------------------

SCAN_PARAMETERS = [
    {"name": "temperatures_c", "kind": {"name": "POSITIONAL_OR_KEYWORD", "value": 1}},
    {"name": "hold_s", "kind": {"name": "POSITIONAL_OR_KEYWORD", "value": 1}},
]


def plan(**fields: Any) -> dict[str, Any]:
    return {"item_type": "plan", "name": "temperature_scan", **fields}


def test_meta_limits_name_the_key_or_size_and_what_is_allowed() -> None:
    with pytest.raises(ItemRefused, match=r"\['uid'\] are reserved.*reserved: \["):
        check_plan_item(plan(meta={"uid": "x"}), None)
    with pytest.raises(ItemRefused, match=r"\['recipe'\] are reserved"):
        check_plan_item(plan(meta=[{"note": 1}, {"recipe": {}}]), None)
    with pytest.raises(ItemRefused, match=rf"meta is \d+ bytes.*at most {MAX_META_BYTES}"):
        check_plan_item(plan(meta={"note": "x" * MAX_META_BYTES}), None)
    with pytest.raises(ItemRefused, match="meta must be a dict"):
        check_plan_item(plan(meta="text"), None)
    check_plan_item(plan(args=[[20.0]], meta={"note": "fine", "operator": "me"}), None)


def test_arguments_name_the_parameter_even_when_positional() -> None:
    with pytest.raises(ItemRefused, match=r"temperatures_c=\[\] is empty"):
        check_plan_item(plan(args=[[]]), SCAN_PARAMETERS)
    with pytest.raises(ItemRefused, match=r"positional argument 1=\[\] is empty"):
        check_plan_item(plan(args=[[]]), None)
    with pytest.raises(ItemRefused, match=r"temperatures_c\[1\]=NaN is not a finite number"):
        check_plan_item(plan(args=[[20.0, float("nan")]]), SCAN_PARAMETERS)
    with pytest.raises(ItemRefused, match=r"hold_s=-Infinity"):
        check_plan_item(plan(kwargs={"hold_s": float("-inf")}), SCAN_PARAMETERS)
    with pytest.raises(ItemRefused, match=rf"at most {MAX_ARGUMENTS_BYTES} bytes"):
        check_plan_item(plan(args=[[20.0] * MAX_ARGUMENTS_BYTES]), SCAN_PARAMETERS)


def test_a_batch_names_the_refused_item() -> None:
    async def parameters(name: str, group: str | None) -> list[dict[str, Any]]:
        return SCAN_PARAMETERS

    batch = {"items": [plan(args=[[20.0]]), plan(args=[[]])], "user_group": "primary"}
    reason = asyncio.run(refusal("queue_item_add_batch", batch, parameters))
    assert reason is not None and reason.startswith("item 2 of the batch: ")
    assert asyncio.run(refusal("queue_get", {}, parameters)) is None
    assert asyncio.run(refusal("queue_item_add", {"item": plan(args=[[1.0]])}, parameters)) is None


# -- 401 or 403 -----------------------------------------------------------------


def principal(provider: str, name: str, scopes: list[str]) -> Any:
    identity = SimpleNamespace(provider=provider, id=name)
    return SimpleNamespace(identities=[identity], scopes=scopes, roles=["student"])


def test_no_key_is_401_and_a_known_user_without_the_right_is_403() -> None:
    with pytest.raises(HTTPException) as no_key:
        check_scopes(principal("__anonymous__", "UNAUTHENTICATED_PUBLIC", []), ("read:queue",))
    assert no_key.value.status_code == 401
    with pytest.raises(HTTPException) as lacking:
        check_scopes(principal("smartlab", "student01", ["read:status"]), ("read:queue",))
    assert lacking.value.status_code == 403
    assert "'student01'" in lacking.value.detail and "read:queue" in lacking.value.detail
    known = principal("smartlab", "student01", ["read:queue"])
    assert check_scopes(known, ("read:queue",)) is known


# -- private files --------------------------------------------------------------


def config(**top: Any) -> Any:
    user = {"name": "ta", "role": "instructor", "key_hash": hash_key(new_key())}
    return parse_config({"users": [user], **top})


def test_files_are_private_unless_the_config_says_otherwise(tmp_path: Path) -> None:
    assert config().umask == 0o077
    assert config(umask=0o027).umask == 0o027
    with pytest.raises(ConfigError, match=r"umask 0o277 must be in 0o000\.\.0o077"):
        config(umask=0o277)

    folder = private_dir(tmp_path / "lab" / "journal", 0o077)
    with open_private(folder / "log", 0o077) as log:
        log.write(b"x")
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "log").stat().st_mode) == 0o600

    shared = private_dir(tmp_path / "shared", 0o027)
    (shared / "old").write_bytes(b"")
    (shared / "old").chmod(0o644)
    with open_private(shared / "old", 0o027):
        pass
    assert stat.S_IMODE(shared.stat().st_mode) == 0o750
    assert stat.S_IMODE((shared / "old").stat().st_mode) == 0o640

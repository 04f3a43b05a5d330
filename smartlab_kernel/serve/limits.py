"""Limits of what a served lab accepts from a client, and the request-body limit that enforces one.

FastAPI reads and parses a request's body before it runs the route's
dependencies, the key check among them: without a limit in front of the
application, a client with no key at all can make the server hold a body
of any size (200 MB cost the queue's HTTP server about 400 MB before it
answered, tiled the same). :class:`BodyLimit` is an ASGI middleware that
refuses with 413 on the headers alone when ``Content-Length`` is too large,
and counts the bytes of a streamed (chunked) body as they arrive, so nothing
over the limit is ever read, let alone parsed. Both servers run behind it
(:mod:`~smartlab_kernel.serve.http_app`, :mod:`~smartlab_kernel.serve.tiled_app`).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

from .keys import hash_key

#: Largest request body the queue's HTTP server reads (bytes), and tiled from any key
#: but the lab service's and the instructors'. A queue item is a plan name with JSON
#: arguments, and students only read from tiled: a megabyte is far more than they need.
MAX_BODY_BYTES = 1024 * 1024
#: Environment variable with the comma-separated key hashes tiled takes any body from.
WRITER_KEYS_ENV = "SMARTLAB_SERVE_WRITER_KEY_HASHES"
#: Largest ``meta`` of a queue item, as compact JSON (bytes). Every client that lists
#: the queue or its history receives every item's ``meta``.
MAX_META_BYTES = 16 * 1024
#: Largest ``args`` plus ``kwargs`` of a queue item, as compact JSON (bytes).
MAX_ARGUMENTS_BYTES = 16 * 1024

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def too_large_detail(size: int | None, limit: int) -> str:
    """The 413 message: the body's size (if known) and the limit."""
    what = f"a request body of {size} bytes" if size is not None else "this request body"
    return (
        f"{what} is larger than this server accepts ({limit} bytes); "
        "queue items are plan names with JSON arguments, keep data out of them"
    )


class BodyLimit:
    """ASGI middleware: refuse HTTP requests whose body is over ``max_bytes`` with 413.

    A declared ``Content-Length`` over the limit is refused before the body
    is read. A body without one (chunked) is read into memory up to the
    limit, then refused as soon as it goes over; under the limit it is handed
    on unchanged.

    Args:
        app: The application to protect.
        max_bytes: The largest body passed on.
        writer_key_hashes: Hashes (:func:`~smartlab_kernel.serve.keys.hash_key`) of
            the API keys that may send larger bodies (tiled: the lab service
            uploading runs); a request presenting one of them in its
            ``Authorization: Apikey ...`` header or ``api_key`` query parameter
            is not limited. Checking a hash costs one SHA-256, no database.
        writer_token: Tells whether a bearer token (``Authorization: Bearer ...``)
            is a writer's (tiled: the lab service logs in and sends a token, see
            :mod:`~smartlab_kernel.storage.tiled_login`); without it, no token is.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int = MAX_BODY_BYTES,
        writer_key_hashes: frozenset[str] = frozenset(),
        writer_token: Callable[[str], bool] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.writer_key_hashes = writer_key_hashes
        self.writer_token = writer_token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, or answer 413 without reading the rest of the body."""
        if scope["type"] != "http" or self._is_writer(scope):
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None:
            if declared > self.max_bytes:
                await _refuse(send, too_large_detail(declared, self.max_bytes))
                return
            await self.app(scope, receive, send)  # the server stops at the declared length
            return
        if not _has_body(scope):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = bytes(message.get("body", b""))
            size += len(chunk)
            if size > self.max_bytes:
                await _refuse(send, too_large_detail(None, self.max_bytes))
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(b"".join(chunks), receive), send)

    def _is_writer(self, scope: Scope) -> bool:
        if self.writer_token is not None:
            token = _bearer_token(scope)
            if token is not None:
                return self.writer_token(token)
        if not self.writer_key_hashes:
            return False
        key = _api_key(scope)
        if key is None:
            return False
        try:
            return hash_key(key) in self.writer_key_hashes
        except ValueError:  # not hex: not a key
            return False


def _credential(scope: Scope, scheme_wanted: str) -> str | None:
    """The ``Authorization: <scheme> <credential>`` header's credential, for that scheme."""
    for name, value in scope.get("headers", ()):
        if name.lower() == b"authorization":
            scheme, _, credential = value.decode("latin-1").partition(" ")
            if scheme.lower() == scheme_wanted and credential.strip():
                return credential.strip()
    return None


def _bearer_token(scope: Scope) -> str | None:
    return _credential(scope, "bearer")


def _api_key(scope: Scope) -> str | None:
    key = _credential(scope, "apikey")
    if key is not None:
        return key
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return query["api_key"][0] if query.get("api_key") else None


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _has_body(scope: Scope) -> bool:
    return any(
        name.lower() == b"transfer-encoding" and b"chunked" in value.lower()
        for name, value in scope.get("headers", ())
    )


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # e.g. http.disconnect

    return replay


async def _refuse(send: Send, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})

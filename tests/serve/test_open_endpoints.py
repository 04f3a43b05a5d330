"""HTTP endpoints that answered too much: without a key, or to a body of any size (issue 16 #6)."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from smartlab_kernel.serve.limits import MAX_BODY_BYTES
from smartlab_kernel.serve.sandbox import Sandbox

pytestmark = pytest.mark.slow


def headers(sandbox: Sandbox, user: str) -> dict[str, str]:
    return {"Authorization": f"ApiKey {sandbox.keys[user]}"}


def peak_memory_mb(pid: int) -> float:
    """The process's peak resident memory (VmHWM) in MiB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmHWM for process {pid}")


def test_the_plan_list_needs_a_key(sandbox: Sandbox) -> None:
    url = f"{sandbox.url}/api/plans/existing"
    refused = httpx.get(url)
    assert refused.status_code == 401, refused.text
    wrong = httpx.get(url, headers={"Authorization": f"ApiKey {'ab' * 36}"})
    assert wrong.status_code == 401
    allowed = httpx.get(url, headers=headers(sandbox, "student01"))
    assert allowed.status_code == 200
    assert "measure" in allowed.json()["plans_existing"]
    # the profile's own machinery is not offered as a plan
    assert "resume_interrupted_steps" not in allowed.json()["plans_existing"]


def test_whoami_without_a_key_is_refused_not_a_server_error(sandbox: Sandbox) -> None:
    url = f"{sandbox.url}/api/auth/whoami"
    refused = httpx.get(url)
    assert refused.status_code == 401, refused.text
    assert "API key" in refused.json()["detail"]
    me = httpx.get(url, headers=headers(sandbox, "student02"))
    assert me.status_code == 200, me.text
    assert [i["id"] for i in me.json()["identities"]] == ["student02"]


DECLARED = 200 * 1024 * 1024


def send_headers_only(url: str, path: str, headers: dict[str, str] | None = None) -> str:
    """POST headers declaring a 200 MB body, send none of it, return what the server says."""
    parts = urlsplit(url)
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {parts.hostname}:{parts.port}",
        "Content-Type: application/json",
        f"Content-Length: {DECLARED}",
        *(f"{name}: {value}" for name, value in (headers or {}).items()),
    ]
    assert parts.hostname is not None and parts.port is not None
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        reply = b""
        while chunk := sock.recv(4096):  # the server closes the connection after its answer
            reply += chunk
        return reply.decode(errors="replace")


def assert_refused_as_too_large(reply: str) -> None:
    status_line, _, rest = reply.partition("\r\n")
    assert status_line.split()[1] == "413", reply
    assert str(DECLARED) in rest and str(MAX_BODY_BYTES) in rest


def test_a_body_over_the_limit_is_refused_before_it_is_read(sandbox: Sandbox) -> None:
    """The server answers 413 on the headers alone: it never waits for the 200 MB."""
    assert_refused_as_too_large(send_headers_only(sandbox.url, "/api/queue/item/add"))
    student = headers(sandbox, "student01")
    assert_refused_as_too_large(
        send_headers_only(sandbox.url, "/api/smartlab/queue/item/add", student)
    )


def test_the_catalog_refuses_a_large_body_unless_the_key_may_write(sandbox: Sandbox) -> None:
    """tiled too read 200 MB before its 401; a student's key (read only) changes nothing."""
    catalog = sandbox.config.catalog_url
    assert_refused_as_too_large(send_headers_only(catalog, "/api/v1/metadata/"))
    student = {"Authorization": f"Apikey {sandbox.keys['student01']}"}
    assert_refused_as_too_large(send_headers_only(catalog, "/api/v1/metadata/runs", student))
    # an instructor's key may write: tiled gets the body (and refuses it as not JSON)
    ta = {"Authorization": f"Apikey {sandbox.keys['ta']}", "Content-Type": "application/json"}
    response = httpx.post(
        f"{catalog}/api/v1/metadata/", content=b"x" * (2 * MAX_BODY_BYTES), headers=ta
    )
    assert response.status_code == 422, response.text


def test_a_streamed_body_over_the_limit_costs_no_memory(sandbox: Sandbox) -> None:
    """Without a Content-Length the server counts as it reads and stops at the limit."""
    pid = sandbox.server.pid("http-server")
    before = peak_memory_mb(pid)

    def body() -> Iterator[bytes]:
        chunk = b"x" * (1024 * 1024)
        for _ in range(100):
            yield chunk

    start = time.monotonic()
    status = None
    # the server may close the connection after its 413: the rest is never read
    with contextlib.suppress(httpx.WriteError, httpx.RemoteProtocolError, httpx.ReadError):
        status = httpx.post(
            f"{sandbox.url}/api/queue/item/add",
            content=body(),
            headers={"Content-Type": "application/json"},
            timeout=60,
        ).status_code
    elapsed = time.monotonic() - start
    grown = peak_memory_mb(pid) - before
    assert grown < 30, f"the HTTP server's peak memory grew by {grown:.0f} MiB for 100 MiB"
    assert status in (None, 413)
    assert elapsed < 30
    # and it still serves
    assert httpx.get(f"{sandbox.url}/api/status", headers=headers(sandbox, "ta")).is_success


def test_a_body_under_the_limit_still_works(sandbox: Sandbox) -> None:
    padded = {"item": {"item_type": "plan", "name": "measure", "kwargs": {}}, "pad": " " * 10}
    response = httpx.post(
        f"{sandbox.url}/api/smartlab/queue/item/add", json=padded, headers=headers(sandbox, "ta")
    )
    # refused for the unknown key "pad" by the route itself, i.e. the body got through
    assert response.status_code == 422 and "pad" in response.text

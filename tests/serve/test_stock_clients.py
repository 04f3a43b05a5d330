"""Stock Bluesky clients on a served lab, with per-user rules (issue 16 items 3 and 4).

* A student drives the queue with bluesky-queueserver-api's own
  ``REManagerAPI`` over HTTP (what the bluesky-widgets queue editor uses):
  adds, lists and removes their own items; another user's item, moving,
  clearing, jumping the queue and instructions are refused with 403.
* A known user lacking a scope gets 403 on the server's own routes; no key
  or a wrong key stays 401.
* An administrator reaches the RE Manager with the stock ``qserver`` CLI and
  the 0MQ key persisted in the state folder; without it, nothing.
* The RE Manager's unencrypted info (console) socket is off.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from smartlab_kernel.serve.sandbox import Sandbox, reachable

pytestmark = pytest.mark.slow


def stock_api(sandbox: Sandbox, user: str) -> Any:
    """bluesky-queueserver-api's HTTP client with ``user``'s key, nothing of ours."""
    from bluesky_queueserver_api.http import REManagerAPI

    api = REManagerAPI(http_server_uri=sandbox.url)
    api.set_authorization_key(api_key=sandbox.keys[user])
    return api


@pytest.fixture
def held_queue(sandbox: Sandbox) -> Iterator[Any]:
    """The instructor's client, with the queue held (items wait) until the test ends."""
    ta = stock_api(sandbox, "ta")
    ta.wait_for_idle(timeout=120)
    ta.queue_autostart(False)
    try:
        yield ta
    finally:
        ta.queue_clear()
        ta.queue_autostart(True)
        ta.close()


def refused_status(call: Callable[[], Any]) -> tuple[int, str]:
    """Run a client call that must fail; return the HTTP status and message."""
    from bluesky_queueserver_api.comm_base import HTTPClientError

    with pytest.raises(HTTPClientError) as refused:
        call()
    return refused.value.response.status_code, str(refused.value)


def waiting(api: Any) -> dict[str, str]:
    """Waiting items: uid -> user."""
    return {item["item_uid"]: item["user"] for item in api.queue_get()["items"]}


def test_a_student_adds_lists_and_removes_own_items_with_the_stock_client(
    sandbox: Sandbox, held_queue: Any
) -> None:
    from bluesky_queueserver_api import BInst, BPlan

    ta = held_queue
    alice, bob = stock_api(sandbox, "student09"), stock_api(sandbox, "student10")
    added = alice.item_add(BPlan("measure", temperature_c=40.0, hold_s=10.0))
    assert added["success"], added
    mine = added["item"]["item_uid"]
    assert added["item"]["user"] == "student09"
    theirs = bob.item_add(BPlan("measure", hold_s=10.0))["item"]["item_uid"]
    second = alice.item_add(BPlan("measure", hold_s=20.0))["item"]["item_uid"]
    assert waiting(alice) == {mine: "student09", theirs: "student10", second: "student09"}
    assert alice.item_get(uid=theirs)["item"]["user"] == "student10"

    other = BPlan("measure", hold_s=30.0)
    other.item_uid = theirs
    attempts: dict[str, Callable[[], Any]] = {
        "remove another's item": lambda: alice.item_remove(uid=theirs),
        "remove another's item by position": lambda: alice.item_remove(pos=1),
        "batch with another's item": lambda: alice.item_remove_batch(uids=[mine, theirs]),
        "edit another's item": lambda: alice.item_update(other),
        "move an item": lambda: alice.item_move(uid=second, pos_dest="front"),
        "move a batch": lambda: alice.item_move_batch(uids=[second], pos_dest="front"),
        "jump the queue": lambda: alice.item_add(BPlan("measure"), pos="front"),
        "add before an item": lambda: alice.item_add(BPlan("measure"), before_uid=theirs),
        "batch at the front": lambda: alice.item_add_batch([BPlan("measure")], pos="front"),
        "add an instruction": lambda: alice.item_add(BInst("queue_stop")),
        "clear the queue": lambda: alice.queue_clear(),
    }
    for what, attempt in attempts.items():
        status, message = refused_status(attempt)
        assert status == 403, f"{what}: {status} {message}"
        assert "student09" in message, f"{what}: {message}"
    assert waiting(ta) == {mine: "student09", theirs: "student10", second: "student09"}

    own = BPlan("measure", hold_s=15.0)
    own.item_uid = second
    assert alice.item_update(own)["success"]
    assert alice.item_get(uid=second)["item"]["kwargs"]["hold_s"] == 15.0
    batch = alice.item_add_batch([BPlan("measure", hold_s=5.0), BPlan("measure", hold_s=6.0)])
    assert batch["success"], batch
    extra = [item["item_uid"] for item in batch["items"]]
    assert alice.item_remove_batch(uids=extra)["success"]
    assert alice.item_remove(uid=mine)["success"]
    assert alice.item_remove(pos="back")["success"]  # their own item, last in the queue
    assert waiting(bob) == {theirs: "student10"}

    # the instructor keeps the server's full queue editing
    ta.item_add(BPlan("measure", hold_s=5.0), pos="front")
    ta.item_move(uid=theirs, pos_dest="front")
    assert ta.item_remove(uid=theirs)["success"]


def test_a_known_user_without_the_right_gets_403_and_no_key_401(sandbox: Sandbox) -> None:
    student = stock_api(sandbox, "student09")
    status, message = refused_status(student.re_pause)
    assert status == 403 and "Not enough permissions" in message
    status, _ = refused_status(lambda: student.permissions_reload())
    assert status == 403
    url = f"{sandbox.url}/api/re/pause"
    assert httpx.post(url, json={}).status_code == 401
    wrong = {"Authorization": f"ApiKey {'ab' * 36}"}
    assert httpx.post(url, json={}, headers=wrong).status_code == 401
    console = httpx.get(
        f"{sandbox.url}/api/console_output",
        headers={"Authorization": f"ApiKey {sandbox.keys['student09']}"},
    )
    assert console.status_code == 403, console.text


def qserver(
    sandbox: Sandbox, public_key: str | None, *args: str
) -> subprocess.CompletedProcess[str]:
    """Run the stock ``qserver`` CLI against the lab's RE Manager."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QSERVER_")}
    if public_key is not None:
        env["QSERVER_ZMQ_PUBLIC_KEY"] = public_key
    address = f"tcp://127.0.0.1:{sandbox.config.queue.zmq_control_port}"
    command = [str(Path(sys.executable).with_name("qserver")), "-a", address, *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def test_an_admin_reaches_the_manager_with_qserver_and_the_persisted_key(
    sandbox: Sandbox,
) -> None:
    from smartlab_kernel.serve.credentials import zmq_key_pair, zmq_public_key_path

    path = zmq_public_key_path(sandbox.config.state_path)
    assert path.stat().st_mode & 0o077 == 0, "the key to the manager is private"
    public_key = path.read_text().strip()
    assert zmq_key_pair(sandbox.config.state_path).public == public_key  # kept, not remade

    answered = qserver(sandbox, public_key, "status")
    assert answered.returncode == 0, answered.stdout + answered.stderr
    assert "'manager_state'" in answered.stdout and "idle" in answered.stdout
    listed = qserver(sandbox, public_key, "queue", "get")
    assert listed.returncode == 0, listed.stdout + listed.stderr

    without = qserver(sandbox, None, "status")
    assert without.returncode != 0
    assert "'manager_state'" not in without.stdout


def test_the_info_socket_is_off(sandbox: Sandbox) -> None:
    """The console/info socket has no encryption upstream: nothing may listen on it."""
    assert reachable("127.0.0.1", sandbox.config.queue.zmq_control_port)
    assert not reachable("127.0.0.1", sandbox.config.queue.zmq_info_port)

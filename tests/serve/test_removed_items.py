"""What a student sees of an item taken out of the queue (issue 16 #8)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from smartlab_kernel.serve.sandbox import Sandbox
from smartlab_kernel.session import Lab
from smartlab_kernel.session.errors import SessionError

pytestmark = pytest.mark.slow


def connect(sandbox: Sandbox, user: str) -> Any:
    return Lab.connect(sandbox.url, api_key=sandbox.keys[user])


@pytest.mark.parametrize("remover", ["student07", "ta"])
def test_a_removed_item_reports_removed_to_its_owner(sandbox: Sandbox, remover: str) -> None:
    owner = connect(sandbox, "student07")
    blocker = owner.submit("measure", hold_s=3000.0)
    doomed = owner.submit("measure", hold_s=10.0)
    assert doomed.state == "queued"
    connect(sandbox, remover).remove(doomed.item_uid)

    assert doomed.state == "removed"
    assert doomed.position is None
    assert doomed.uids == []
    start = time.monotonic()
    with pytest.raises(SessionError, match="removed from the queue"):
        doomed.wait(timeout=30)
    assert time.monotonic() - start < 5
    owner.wait(timeout=90)  # does not wait for the removed item
    assert blocker.state == "finished"


def test_removing_an_unknown_item_says_so(sandbox: Sandbox) -> None:
    student = connect(sandbox, "student08")
    with pytest.raises(SessionError, match="no item 'not-a-uid' is waiting in the queue") as info:
        student.remove("not-a-uid")
    assert "None" not in str(info.value)
    response = httpx.post(
        f"{sandbox.url}/api/smartlab/queue/item/remove",
        json={"uid": "not-a-uid"},
        headers={"Authorization": f"ApiKey {sandbox.keys['student08']}"},
    )
    assert response.status_code == 404, response.text

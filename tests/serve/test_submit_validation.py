"""A queue item is checked when it is submitted, not when it runs (issue 16 #6 and #7).

Every refusal must come back at once, name the value, and say what is
allowed; nothing refused may reach the queue.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from smartlab_kernel.serve.limits import MAX_META_BYTES
from smartlab_kernel.serve.sandbox import Sandbox
from smartlab_kernel.session import Lab
from smartlab_kernel.session.errors import SessionError

pytestmark = pytest.mark.slow


def connect(sandbox: Sandbox, user: str) -> Any:
    return Lab.connect(sandbox.url, api_key=sandbox.keys[user])


def queued_uids(lab: Any) -> set[str]:
    return {q["item_uid"] for q in lab.queue()} | {h["item_uid"] for h in lab.history()}


def test_oversized_meta_is_refused_at_submit(sandbox: Sandbox) -> None:
    student, ta = connect(sandbox, "student01"), connect(sandbox, "ta")
    before = queued_uids(ta)
    big = {"notes": "x" * (MAX_META_BYTES + 1)}
    with pytest.raises(SessionError, match=rf"meta.*{MAX_META_BYTES}"):
        student.submit("measure", md=big)
    # the instructor goes through the stock item_add: refused there too
    with pytest.raises(SessionError, match=rf"meta.*{MAX_META_BYTES}"):
        ta.submit("measure", md=big)
    assert queued_uids(ta) == before


@pytest.mark.parametrize("key", ["uid", "time", "plan_name", "recipe", "sample_ids"])
def test_reserved_meta_keys_are_refused_at_submit(sandbox: Sandbox, key: str) -> None:
    student, ta = connect(sandbox, "student02"), connect(sandbox, "ta")
    before = queued_uids(ta)
    with pytest.raises(SessionError, match=rf"'{key}'.*reserved"):
        student.submit("measure", hold_s=1.0, md={key: "mine", "note": "fine"})
    with pytest.raises(SessionError, match=rf"'{key}'.*reserved"):
        ta.submit("measure", hold_s=1.0, md={key: "mine"})
    assert queued_uids(ta) == before


def test_own_metadata_and_a_claimed_operator_are_still_accepted(sandbox: Sandbox) -> None:
    student = connect(sandbox, "student03")
    run = student.submit("measure", hold_s=1.0, md={"note": "ok", "operator": "someone"})
    (uid,) = run.wait(timeout=90)
    start = student.catalog[uid].metadata["start"]
    assert start["note"] == "ok" and start["claimed_operator"] == "someone"


@pytest.mark.parametrize(
    ("plan", "args", "kwargs", "value", "allowed"),
    [
        ("measure", [], {"temperature_c": 500.0}, "500", r"15.*150"),
        ("measure", [], {"a_ml": -5.0}, "-5", r"0.*10"),
        ("measure", [], {"hold_s": 1e12}, "1e\\+?12|1000000000000", r"0.*86400"),
        ("measure", [], {"stir_rpm": 9000.0}, "9000", r"0.*1500"),
        ("temperature_scan", [[40.0, 500.0]], {}, "500", r"15.*150"),
    ],
)
def test_arguments_outside_the_devices_limits_are_refused_at_submit(
    sandbox: Sandbox, plan: str, args: list, kwargs: dict, value: str, allowed: str
) -> None:
    student, ta = connect(sandbox, "student04"), connect(sandbox, "ta")
    before = queued_uids(ta)
    with pytest.raises(SessionError) as refused:
        student.submit(plan, *args, **kwargs)
    message = str(refused.value)
    assert "refused item_add" in message
    assert re.search(value, message), message
    assert re.search(allowed, message), message
    assert queued_uids(ta) == before


def test_the_limits_are_described_to_clients(sandbox: Sandbox) -> None:
    parameters = {
        p["name"]: p for p in connect(sandbox, "student04").plans()["measure"]["parameters"]
    }
    assert float(parameters["temperature_c"]["min"]) == 15.0
    assert float(parameters["temperature_c"]["max"]) == 150.0
    assert float(parameters["a_ml"]["min"]) == 0.0


def test_an_empty_scan_is_refused_at_submit(sandbox: Sandbox) -> None:
    student, ta = connect(sandbox, "student05"), connect(sandbox, "ta")
    before = queued_uids(ta)
    with pytest.raises(SessionError, match=r"temperatures_c.*empty|empty.*temperatures_c"):
        student.submit("temperature_scan", [])
    with pytest.raises(SessionError, match=r"temperatures_c.*empty|empty.*temperatures_c"):
        student.submit("temperature_scan", temperatures_c=[])
    assert queued_uids(ta) == before


def test_not_a_number_is_refused_at_submit(sandbox: Sandbox) -> None:
    """JSON as Python writes it may carry NaN; the queue's range check lets NaN through."""
    headers = {
        "Authorization": f"ApiKey {sandbox.keys['student06']}",
        "Content-Type": "application/json",
    }
    body = '{"item": {"item_type": "plan", "name": "measure", "kwargs": {"temperature_c": NaN}}}'
    response = httpx.post(
        f"{sandbox.url}/api/smartlab/queue/item/add", content=body, headers=headers
    )
    assert response.status_code == 422, response.text
    assert "temperature_c" in response.text and "NaN" in response.text

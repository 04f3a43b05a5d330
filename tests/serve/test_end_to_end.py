"""Two students and an instructor on one served lab: order, ownership, keys."""

from __future__ import annotations

import httpx
import pytest

from smartlab_kernel.remote.lab import RemoteLab
from smartlab_kernel.serve.sandbox import Sandbox
from smartlab_kernel.session import Lab
from smartlab_kernel.session.errors import SessionError

pytestmark = pytest.mark.slow


def connect(sandbox: Sandbox, user: str) -> RemoteLab:
    return Lab.connect(sandbox.url, api_key=sandbox.keys[user])


def test_plans_run_in_order_and_each_student_sees_only_their_runs(sandbox: Sandbox) -> None:
    alice, bob, ta = (connect(sandbox, u) for u in ("student01", "student02", "ta"))
    submitted = [
        alice.submit("measure", temperature_c=40.0, hold_s=300.0),
        bob.submit("measure", temperature_c=50.0, hold_s=60.0),
        alice.submit("measure", temperature_c=60.0, hold_s=60.0),
        bob.submit("temperature_scan", [30.0, 35.0], hold_s=30.0),
    ]
    alice.wait(timeout=60)
    bob.wait(timeout=60)
    order = [h["item_uid"] for h in ta.history()]
    positions = [order.index(run.item_uid) for run in submitted]
    assert positions == sorted(positions)
    assert all(run.state == "finished" for run in submitted)

    alice_runs = {u for run in submitted[::2] for u in run.uids}
    bob_runs = {u for run in submitted[1::2] for u in run.uids}
    assert len(alice_runs) == 2 and len(bob_runs) == 3
    assert set(alice.catalog) == alice_runs
    assert set(bob.catalog) == bob_runs
    assert alice_runs | bob_runs <= set(ta.catalog)
    run = alice.catalog[submitted[0].uids[0]]
    assert run.metadata["start"]["operator"] == "student01"
    assert run.metadata["start"]["recipe"]["temperature_c"] == 40.0
    assert run.metadata["stop"]["exit_status"] == "success"


def test_no_key_or_wrong_key_is_refused(sandbox: Sandbox) -> None:
    wrong = "ab" * 36
    tiled = sandbox.config.catalog_url
    for url in (f"{sandbox.url}/api/status", f"{sandbox.url}/api/queue/get"):
        assert httpx.get(url).status_code == 401
        assert httpx.get(url, headers={"Authorization": f"ApiKey {wrong}"}).status_code == 401
    item = {"item": {"item_type": "plan", "name": "measure"}}
    assert httpx.post(f"{sandbox.url}/api/queue/item/add", json=item).status_code == 401
    for url in (f"{tiled}/api/v1/metadata/runs", f"{tiled}/api/v1/search/runs"):
        assert httpx.get(url).status_code == 401
        assert httpx.get(url, headers={"Authorization": f"Apikey {wrong}"}).status_code == 401
    with pytest.raises(SessionError, match="refused this API key"):
        Lab.connect(sandbox.url, api_key=wrong)
    with pytest.raises(SessionError, match="needs your API key"):
        RemoteLab(sandbox.url, api_key="")


def test_students_cannot_control_the_queue_but_the_instructor_can(sandbox: Sandbox) -> None:
    student, ta = connect(sandbox, "student03"), connect(sandbox, "ta")
    assert not student.is_instructor and ta.is_instructor
    with pytest.raises(SessionError, match="not allowed"):
        student.pause()
    blocker = student.submit("measure", hold_s=4000.0)
    first = student.submit("measure", hold_s=10.0)
    second = student.submit("measure", hold_s=10.0)
    third = student.submit("measure", hold_s=10.0)
    waiting = [q["item_uid"] for q in ta.queue()]
    assert waiting[-3:] == [first.item_uid, second.item_uid, third.item_uid]
    ta.move(third.item_uid, 1)
    ta.remove(second.item_uid)
    assert [q["item_uid"] for q in ta.queue()][:2] == [third.item_uid, first.item_uid]
    assert third.position == 1
    blocker.wait(timeout=60)
    third.wait(timeout=60)
    first.wait(timeout=60)
    order = [h["item_uid"] for h in ta.history()]
    assert order.index(third.item_uid) < order.index(first.item_uid)
    assert second.item_uid not in order


def test_submit_needs_a_plan_name_and_known_plans(sandbox: Sandbox) -> None:
    student = connect(sandbox, "student04")
    assert set(student.plans()) == {"measure", "temperature_scan"}
    with pytest.raises(TypeError, match="by name"):
        student.submit(iter([]))  # type: ignore[arg-type]
    with pytest.raises(SessionError, match="refused item_add"):
        student.submit("rm_rf_everything")


def test_the_catalog_server_shows_a_student_only_their_runs(sandbox: Sandbox) -> None:
    """Not just RemoteLab's filter: a raw tiled client with a student's key is filtered too."""
    from tiled.client import from_uri

    carol, dave, ta = (connect(sandbox, u) for u in ("student05", "student06", "ta"))
    mine = carol.submit("measure", temperature_c=45.0, hold_s=30.0, md={"operator": "student06"})
    theirs = dave.submit("measure", temperature_c=55.0, hold_s=30.0)
    carol.wait(timeout=60)
    dave.wait(timeout=60)
    (my_uid,) = mine.uids
    (their_uid,) = theirs.uids

    raw = from_uri(carol.catalog_uri, api_key=sandbox.keys["student05"])["runs"]
    start = raw[my_uid].metadata["start"]
    assert start["operator"] == "student05"  # from the key, not from md
    assert start["claimed_operator"] == "student06"
    assert their_uid not in raw
    with pytest.raises(KeyError):
        raw[their_uid]
    assert {raw[uid].metadata["start"]["operator"] for uid in raw} == {"student05"}
    headers = {"Authorization": f"Apikey {sandbox.keys['student05']}"}
    direct = httpx.get(f"{carol.catalog_uri}/metadata/runs/{their_uid}", headers=headers)
    assert direct.status_code == 404
    data = httpx.get(f"{carol.catalog_uri}/metadata/runs/{their_uid}/primary", headers=headers)
    assert data.status_code == 404

    everything = from_uri(ta.catalog_uri, api_key=sandbox.keys["ta"])["runs"]
    assert {my_uid, their_uid} <= set(everything)


def test_students_edit_only_their_own_queue_items(sandbox: Sandbox) -> None:
    erin, frank, ta = (connect(sandbox, u) for u in ("student07", "student08", "ta"))
    blocker = erin.submit("measure", hold_s=3000.0)
    erins = erin.submit("measure", hold_s=10.0)
    franks = frank.submit("measure", hold_s=10.0)
    with pytest.raises(SessionError, match="only your own items"):
        frank.remove(erins.item_uid)
    with pytest.raises(SessionError, match="not allowed"):
        frank.move(franks.item_uid, 1)
    headers = {"Authorization": f"ApiKey {sandbox.keys['student08']}"}
    jump = {"item": {"item_type": "plan", "name": "measure"}, "pos": "front"}
    refused = httpx.post(f"{sandbox.url}/api/queue/item/add", json=jump, headers=headers)
    assert refused.status_code == 403 and "Not enough permissions" in refused.text
    sneaky = httpx.post(f"{sandbox.url}/api/smartlab/queue/item/add", json=jump, headers=headers)
    assert sneaky.status_code == 422 and "pos" in sneaky.text
    frank.remove(franks.item_uid)
    waiting = [q["item_uid"] for q in ta.queue()]
    assert erins.item_uid in waiting and franks.item_uid not in waiting
    blocker.wait(timeout=60)
    erins.wait(timeout=60)
    assert erins.state == "finished"

"""QueueRunEngine: a run's operator is the queue item's authenticated user, never the client's."""

from __future__ import annotations

import multiprocessing
from types import SimpleNamespace
from typing import Any

import bluesky.plans as bp
import pytest
from ophyd.sim import det

from smartlab_kernel.serve.queue_engine import UNKNOWN_OPERATOR, QueueRunEngine, queue_item_user


def _start_of(engine: QueueRunEngine, **md: Any) -> dict[str, Any]:
    starts: list[dict[str, Any]] = []
    engine(bp.count([det]), lambda name, doc: starts.append(doc) if name == "start" else None, **md)
    (start,) = starts
    return start


def test_the_queue_items_user_replaces_a_claimed_operator(monkeypatch: pytest.MonkeyPatch) -> None:
    worker = SimpleNamespace(_running_plan_info={"name": "measure", "user": "student01"})
    monkeypatch.setattr(multiprocessing, "current_process", lambda: worker)
    start = _start_of(QueueRunEngine(context_managers=[]), operator="student02")
    assert start["operator"] == "student01"
    assert start["claimed_operator"] == "student02"


def test_without_a_queue_item_the_operator_is_unknown() -> None:
    assert queue_item_user() is None  # the test process is not an RE worker
    start = _start_of(QueueRunEngine(context_managers=[]), operator="mallory")
    assert start["operator"] == UNKNOWN_OPERATOR and start["claimed_operator"] == "mallory"
    assert queue_item_user(SimpleNamespace(_running_plan_info={"user": ""})) is None


def test_the_environment_is_recorded_and_a_broken_one_does_not_stop_the_run() -> None:
    engine = QueueRunEngine(context_managers=[])
    engine.environment = lambda: {"room": {"vapour_ppm": 3.0}}
    assert _start_of(engine)["environment"] == {"room": {"vapour_ppm": 3.0}}

    def broken() -> dict[str, Any]:
        raise OSError("sensor bus down")

    engine.environment = broken
    assert "sensor bus down" in _start_of(engine)["environment"]["error"]

"""Fixtures for the widget tests: one simulated lab, plans, and a recording comm."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from typing import Any

import comm
import pytest
from comm.base_comm import BaseComm

from smartlab_kernel.plans import Recipe, measure_recipe
from smartlab_kernel.session import Lab


class RecordingComm(BaseComm):
    """A comm that keeps every message a widget sends, as the front end would get it."""

    sent: list[dict[str, Any]] = []

    def publish_msg(
        self, msg_type: str, data: Any = None, metadata: Any = None, **keys: Any
    ) -> None:
        RecordingComm.sent.append({"msg_type": msg_type, "comm_id": self.comm_id, "data": data})


@pytest.fixture
def messages(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Messages sent by widgets created in the test (comm_open, comm_msg...)."""
    RecordingComm.sent = []
    monkeypatch.setattr(comm, "create_comm", lambda *a, **k: RecordingComm(*a, **k))
    return RecordingComm.sent


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    lab = Lab.simulated(seed=0, directory=tmp_path_factory.mktemp("lab"), time_scale=2000)
    yield lab
    lab.close()


@pytest.fixture
def idle_lab(lab: Lab) -> Iterator[Lab]:
    """The shared lab, left idle after the test whatever it did."""
    yield lab
    for _ in range(3):
        try:
            lab.abort("test cleanup")
        except Exception:
            time.sleep(0.2)
    lab.wait(60)
    # An aborted plan leaves its vial where it was; clear the bench for the next test.
    assert lab.bench is not None
    world = lab.bench.world
    for station in list(world.occupied()):
        if station != "waste":
            world.move(station, "waste")


_holds = itertools.count()


@pytest.fixture
def slow_plan(lab: Lab) -> Callable[..., Any]:
    """A plan that keeps the lab busy for several seconds (a long hold).

    ``slow_plan.holding(plan)`` is true once that plan's reactor hold has begun:
    the safe moment to pause (pausing in the middle of a robot move is not).
    """

    def make(hold_s: float = 40_000.0, **md: Any) -> Any:
        bench = lab.bench
        assert bench is not None
        hold_s += next(_holds)
        make.hold_s = hold_s  # type: ignore[attr-defined]
        return measure_recipe(
            Recipe({"a": 1.0, "b": 1.0}, temperature_c=40.0, hold_s=hold_s),
            dispenser=bench.dispenser,
            reactor=bench.reactor,
            robot=bench.robot,
            spectrometer=bench.spectrometer,
            md=md or None,
        )

    def holding() -> bool:
        assert lab.bench is not None
        return bool(lab.bench.reactor.hold.seconds.get() == make.hold_s)  # type: ignore[attr-defined]

    make.holding = holding  # type: ignore[attr-defined]
    return make


def _wait_for(condition: Callable[[], bool], timeout: float = 20.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(0.02)


@pytest.fixture
def wait_for() -> Callable[..., None]:
    """``wait_for(condition, timeout=20, what="")``: poll until true or fail."""
    return _wait_for

"""Fixtures for the room tests: a stepped-clock room and one simulated lab with the room."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from smartlab_kernel.devices.room import SimulatedRoom, SteppedClock, build_room
from smartlab_kernel.devices.world import BenchWorld
from smartlab_kernel.management.room_link import RoomLink, attach_room
from smartlab_kernel.management.safety import InterlockSettings
from smartlab_kernel.session import Lab

#: Simulated seconds per real second of the shared lab.
TIME_SCALE = 1000.0
#: Settle time of the interlocks, simulated seconds (0.3 real seconds).
SETTLE_S = 300.0


@pytest.fixture
def clock() -> SteppedClock:
    return SteppedClock()


@pytest.fixture
def room(clock: SteppedClock) -> SimulatedRoom:
    """A room whose time moves only when the test advances ``clock``."""
    world = BenchWorld(seed=0)
    world.clock = clock
    return build_room(world)


@pytest.fixture(scope="session")
def room_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Lab, RoomLink]]:
    """One simulated lab with the room attached, shared by the slow tests."""
    lab = Lab.simulated(seed=0, directory=tmp_path_factory.mktemp("lab"), time_scale=TIME_SCALE)
    try:
        link = attach_room(lab, settings=InterlockSettings(settle_s=SETTLE_S))
        yield lab, link
        link.close()
    finally:
        lab.close()


def _wait_for(condition: Callable[[], bool], timeout: float = 20.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(0.005)


@pytest.fixture
def wait_for() -> Callable[..., None]:
    """``wait_for(condition, timeout=20, what="")``: poll until true or fail."""
    return _wait_for


@pytest.fixture
def settle_real_s() -> float:
    """The interlocks' settle time in real seconds."""
    return SETTLE_S / TIME_SCALE

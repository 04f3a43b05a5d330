"""Pytest fixtures for testing plans on the simulated lab.

Register them in a ``conftest.py``::

    pytest_plugins = ["smartlab_kernel.testing.pytest_plugin"]

Fixtures:

* ``bench``: a fresh simulated bench (seed 0, fast time) for plain RunEngine tests.
* ``run_engine``: a plain :class:`bluesky.RunEngine` (no Lab) with a
  :class:`DocumentCollector` subscribed as ``run_engine.documents``.
* ``lab_factory``: ``lab_factory(directory=None, **kwargs)`` starts a simulated
  lab (in a fresh temporary folder by default); every lab is closed at teardown.
* ``sim_lab``: one simulated lab in ``tmp_path``.
* ``embedded_catalog``: one embedded tiled catalog shared by the whole test
  session (starting one takes seconds); runs are keyed by uid, so tests do
  not collide.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from bluesky import RunEngine

from ..devices import SimulatedBench, build_bench
from ..session import Lab
from ..storage import EmbeddedCatalog
from .documents import DocumentCollector
from .labs import TEST_TIME_SCALE, simulated_lab

LabFactory = Callable[..., Lab]


@pytest.fixture
def bench() -> Iterator[SimulatedBench]:
    """A fresh simulated bench (seed 0, fast time, 1 s device timeout)."""
    built = build_bench(seed=0, time_scale=TEST_TIME_SCALE, device_timeout=1.0)
    yield built
    for device in built.devices.values():
        device.stop()


@pytest.fixture
def run_engine() -> Iterator[RunEngine]:
    """A plain RunEngine with a DocumentCollector at ``run_engine.documents``."""
    engine = RunEngine({}, context_managers=[])
    documents = DocumentCollector()
    engine.subscribe(documents)
    engine.documents = documents  # type: ignore[attr-defined]
    yield engine
    if engine.state != "idle":
        engine.halt()
    engine.loop.call_soon_threadsafe(engine.loop.stop)
    engine._th.join(timeout=5)


@pytest.fixture
def lab_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabFactory]:
    """Start simulated labs with ``lab_factory(directory=None, **kwargs)``; all closed after."""
    with ExitStack() as stack:

        def make(directory: str | Path | None = None, **kwargs: Any) -> Lab:
            folder = directory if directory is not None else tmp_path_factory.mktemp("lab")
            return stack.enter_context(simulated_lab(folder, **kwargs))

        yield make


@pytest.fixture
def sim_lab(lab_factory: LabFactory, tmp_path: Path) -> Lab:
    """A simulated lab in ``tmp_path`` (closed after the test)."""
    return lab_factory(tmp_path / "lab")


@pytest.fixture(scope="session")
def embedded_catalog(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedCatalog]:
    """An embedded tiled catalog shared by the whole test session."""
    catalog = EmbeddedCatalog(tmp_path_factory.mktemp("catalog"))
    yield catalog
    catalog.close()

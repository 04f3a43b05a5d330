"""One simulated lab shared by the session tests (starting a lab takes seconds).

Each test gets it through the ``lab`` fixture, which afterwards aborts
whatever still runs, waits until the catalog holds every document, and
puts the bench back in a known state.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from smartlab_kernel import Lab
from smartlab_kernel.testing import reset_bench

OPERATOR = "test-operator"
SEED = 11


class SharedLab:
    """Holds the shared lab; :meth:`reopen` replaces it by a new one on the same directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.lab = self._open()

    def _open(self) -> Lab:
        return Lab.simulated(
            seed=SEED,
            directory=self.directory,
            time_scale=2000.0,
            operator=OPERATOR,
            device_timeout=0.5,
        )

    def reopen(self) -> Lab:
        self.lab.close()
        self.lab = self._open()
        return self.lab


@pytest.fixture(scope="session")
def shared_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedLab]:
    holder = SharedLab(tmp_path_factory.mktemp("session-lab"))
    yield holder
    holder.lab.close()


@pytest.fixture
def lab(shared_lab: SharedLab) -> Iterator[Lab]:
    lab = shared_lab.lab
    yield lab
    if any(not run.done for run in lab.runs):
        lab.abort("test teardown")
    lab.wait(60)
    lab.md.clear()
    reset_bench(lab)

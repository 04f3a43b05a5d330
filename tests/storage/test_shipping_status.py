"""The shipper says why runs are not reaching the catalog, and when they are again.

A served lab's status (``smartlab serve status``) showed how many runs were
unshipped but not why: a catalog that refused the service's writes looked
the same as a slow one. The shipper now keeps ``journal/shipping.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

import bluesky.plans as bp
from bluesky import RunEngine
from tiled.client.base import BaseClient

from smartlab_kernel.devices import SimulatedBench
from smartlab_kernel.serve.services import shipping_failure
from smartlab_kernel.storage import DurableCapture, EmbeddedCatalog
from smartlab_kernel.storage.shipper import STATUS_FILE


class Switchable:
    """A catalog that refuses every connection while ``down``."""

    def __init__(self, catalog: EmbeddedCatalog) -> None:
        self.catalog = catalog
        self.down = True

    def reconnect(self) -> BaseClient:
        if self.down:
            raise ConnectionRefusedError("the catalog refuses the service (test)")
        return self.catalog.reconnect()


def test_the_status_names_the_failure_then_clears_once_a_run_is_stored(
    tmp_path: Path, bench: SimulatedBench, run_engine: RunEngine
) -> None:
    embedded = EmbeddedCatalog(tmp_path / "catalog")
    catalog = Switchable(embedded)
    capture = DurableCapture(catalog, tmp_path / "journal", retry_interval=0.1)
    status = tmp_path / "journal" / STATUS_FILE
    try:
        run_engine.subscribe(capture)
        (uid,) = run_engine(bp.count([bench.reactor], 2))
        assert not capture.wait_shipped(1.0)
        failure = shipping_failure(status)
        assert failure is not None
        assert uid in failure and "the catalog refuses the service (test)" in failure
        catalog.down = False
        assert capture.wait_shipped(60), capture.shipper.last_error
        assert shipping_failure(status) is None, status.read_text()  # stored since: healthy again
        recorded = json.loads(status.read_text())
        assert recorded["stored_at"] >= recorded["error_at"] > 0
    finally:
        capture.close()
        embedded.close()


def test_no_status_or_a_damaged_one_is_no_failure(tmp_path: Path) -> None:
    assert shipping_failure(tmp_path / STATUS_FILE) is None
    (tmp_path / STATUS_FILE).write_text("{not json")
    assert shipping_failure(tmp_path / STATUS_FILE) is None

"""kill -9 a lab mid-run, reopen it: the LIMS closes the run as failed, stock stays true.

A worker process (``lims_kill_worker.py``) runs one recipe on
``Lab.simulated(lims=True)``. The test watches its LIMS database and kills it
with SIGKILL during the hold (the dispense done) or during the dispense (pump
``a`` done, pump ``b`` hanging). A lab reopened on the same directory must
show the run in the LIMS as failed with the died reason and its sample
invalidated, and the stock must be the initial stock minus what the pumps
really dispensed before the kill.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from smartlab_kernel.lims_link.link import DIED_REASON
from smartlab_kernel.storage import DIED_REASON as CATALOG_DIED_REASON
from smartlab_kernel.testing import simulated_lab

WORKER = Path(__file__).with_name("lims_kill_worker.py")
FULL = {"stock_A": 50.0, "stock_B": 50.0, "stock_SOLVENT": 100.0}

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def _query(db: Path, sql: str) -> list[tuple[object, ...]]:
    """Read the worker's LIMS (read-only; nothing when it does not exist yet)."""
    if not db.exists():
        return []
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return list(conn.execute(sql))
    except sqlite3.OperationalError:  # tables not created yet
        return []


def _kill_when(
    directory: Path, mode: str, ready: Callable[[Path], bool], timeout: float = 120
) -> str:
    """Run the worker; SIGKILL it once ``ready(lims db)``; return its output."""
    log = directory.with_suffix(".log")
    db = directory / "lims.sqlite"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, str(WORKER), str(directory), mode], stdout=out, stderr=out
        )
        try:
            deadline = time.monotonic() + timeout
            while not ready(db):
                assert process.poll() is None, log.read_text()[-3000:]
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.02)
            os.kill(process.pid, signal.SIGKILL)
            assert process.wait(30) == -signal.SIGKILL
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(30)
    return log.read_text()


def _stock(db: Path) -> dict[str, float]:
    return {
        str(name): float(amount)
        for name, amount in _query(db, "SELECT name, amount FROM inventory_items")
    }  # type: ignore[arg-type]


def _prepared(db: Path) -> bool:
    rows = _query(db, "SELECT state FROM samples WHERE sample_type = 'mixture'")
    return rows == [("prepared",)]


def _pump_a_done(db: Path) -> bool:
    return _stock(db).get("stock_A") == 48.0


@pytest.mark.parametrize(
    ("mode", "ready", "expected"),
    [
        ("hold", _prepared, {**FULL, "stock_A": 48.0, "stock_B": 49.0}),
        ("dispense", _pump_a_done, {**FULL, "stock_A": 48.0}),
    ],
)
def test_a_killed_run_is_closed_in_the_lims(
    tmp_path: Path, mode: str, ready: Callable[[Path], bool], expected: dict[str, float]
) -> None:
    directory = tmp_path / "lab"
    _kill_when(directory, mode, ready)
    db = directory / "lims.sqlite"
    ((uid, meta_json),) = _query(db, "SELECT run_uid, metadata_json FROM runs")
    assert json.loads(str(meta_json))["exit_status"] is None  # open when the process died

    with simulated_lab(directory, seed=0, lims=True) as lab:
        assert lab.lims is not None
        store = lab.lims.store
        record = store.get_run(str(uid))
        assert record is not None
        assert record.metadata["exit_status"] == "fail"
        assert record.metadata["reason"] == DIED_REASON
        (sample_id,) = record.sample_ids
        assert store.get_sample(sample_id).state == "invalidated"
        assert lab.lims.recovered == [
            f"run {uid}: closed as failed ({DIED_REASON}); sample {sample_id} invalidated"
        ]
        assert lab.status()["lims"]["recovered"] == lab.lims.recovered
        assert {i.name: i.amount for i in store.items()} == pytest.approx(expected)
        assert store.unfinished_runs() == []
        assert store.verify_audit().ok
        lab.wait(120)
        stop = lab.catalog[str(uid)].metadata["stop"]
        assert stop["exit_status"] == "fail" and stop["reason"] == CATALOG_DIED_REASON
        assert lab.catalog[str(uid)].metadata["start"]["sample_ids"] == [sample_id]

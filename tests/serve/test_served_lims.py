"""The shared lab keeps its LIMS (PostgreSQL) in step with the queue's runs."""

from __future__ import annotations

import pytest

from smartlab_kernel.lims import LimsStore
from smartlab_kernel.serve.sandbox import Sandbox
from smartlab_kernel.session import Lab

pytestmark = pytest.mark.slow


def test_a_students_recipe_makes_a_sample_takes_stock_under_their_name(sandbox: Sandbox) -> None:
    lims_config = sandbox.config.lims
    assert lims_config.url.startswith("postgresql+psycopg://")
    store = LimsStore.open(lims_config.url, schema=lims_config.schema)
    try:
        before = {item.name: item.amount for item in store.items()}
        student = Lab.connect(sandbox.url, api_key=sandbox.keys["student05"])
        run = student.submit("measure", a_ml=1.5, b_ml=2.0, temperature_c=55.0, hold_s=30.0)
        (uid,) = run.wait(90)
        start = student.catalog[uid].metadata["start"]
        (sample_id,) = start["sample_ids"]
        sample = store.get_sample(sample_id)
        assert sample.sample_type == "mixture" and sample.state == "measured"
        assert [r.run_uid for r in store.runs_of_sample(sample_id)] == [uid]
        after = {item.name: item.amount for item in store.items()}
        assert after["stock_A"] == pytest.approx(before["stock_A"] - 1.5)
        assert after["stock_B"] == pytest.approx(before["stock_B"] - 2.0)
        actors = {entry.operator for entry in store.history(sample_id)}
        assert actors == {"student05"}
        assert store.verify_audit().ok
    finally:
        store.close()

"""Re-running a stored campaign on the simulator reproduces its results."""

from __future__ import annotations

from pathlib import Path

import pytest

from smartlab_kernel import Lab
from smartlab_kernel.session.campaign import bench_planner, campaign
from smartlab_kernel.session.reproduce import reproduce


def test_reproduce_matches_and_detects_a_changed_result(tmp_path: Path) -> None:
    with Lab.simulated(seed=4, directory=tmp_path / "lab", time_scale=5000) as lab:
        planner = bench_planner(seed=4, initial_design=2)
        lab.submit(campaign(lab, planner, budget=3)).wait(120)
        lab.wait(60)
        report = reproduce(lab.catalog, planner.campaign_id, directory=tmp_path / "again")
        assert report.matches, report.summary()
        assert len(report.comparisons) == 3
        assert report.max_difference < 0.25
        # a single run uid reproduces its whole campaign
        uid = report.comparisons[0].uid
        assert len(reproduce(lab.catalog, uid).comparisons) == 3
        # a different seed is a different bench: the noise differs, so it must not match
        strict = reproduce(lab.catalog, planner.campaign_id, tolerance=1e-9)
        assert not strict.matches
        with pytest.raises(LookupError):
            reproduce(lab.catalog, "nothing-like-this")

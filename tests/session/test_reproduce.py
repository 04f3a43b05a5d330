"""Re-running a stored campaign on the simulator reproduces its results."""

from __future__ import annotations

from pathlib import Path

import pytest

from smartlab_kernel import Lab
from smartlab_kernel.campaign.loop import bench_planner, campaign
from smartlab_kernel.campaign.reproduce import reproduce
from smartlab_kernel.devices import AnalyticResponse


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
        with pytest.raises(LookupError):
            reproduce(lab.catalog, "nothing-like-this")


def test_the_recorded_response_model_is_rebuilt_and_other_chemistry_does_not_match(
    tmp_path: Path,
) -> None:
    chemistry = AnalyticResponse(best_fraction=0.25, rate_at_60c=0.004)
    with Lab.simulated(
        seed=5, directory=tmp_path / "lab", time_scale=5000, response=chemistry
    ) as lab:
        planner = bench_planner(seed=5, initial_design=2)
        lab.submit(campaign(lab, planner, budget=3)).wait(120)
        lab.wait(60)
        start = lab.catalog[lab.runs[0].uids[0]].metadata["start"]
        assert start["bench"]["response_settings"]["best_fraction"] == 0.25
        same = reproduce(lab.catalog, planner.campaign_id, directory=tmp_path / "same")
        assert same.matches, same.summary()
        # the default chemistry answers differently for the same recipes: a mismatch
        other = reproduce(
            lab.catalog,
            planner.campaign_id,
            directory=tmp_path / "other",
            response=AnalyticResponse(),
        )
        assert not other.matches and other.max_difference > 1.0
        assert other.summary().startswith("MISMATCH")

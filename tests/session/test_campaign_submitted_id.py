"""Issue 18 #6: ``lab.submit(campaign(...), campaign_id="x")`` records its runs under ``x``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tiled.queries import Key

from smartlab_kernel import Lab
from smartlab_kernel.campaign import bench_planner, campaign, resume_planner


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    lab = Lab.simulated(seed=1, directory=tmp_path / "lab", time_scale=20000)
    yield lab
    lab.close()


def _plan_names(lab: Lab, campaign_id: str) -> list[str]:
    found = lab.catalog.search(Key("start.campaign_id") == campaign_id)
    return sorted(found[uid].metadata["start"]["plan_name"] for uid in found)


def test_the_submitted_campaign_id_is_the_campaigns(lab: Lab) -> None:
    planner = bench_planner(seed=0, initial_design=2)
    run = lab.submit(campaign(lab, planner, budget=2, batch=2), campaign_id="x")
    run.wait(120)
    lab.wait(60)
    assert run.state == "finished", run.reason
    assert [r.error for r in run.result] == [None, None]
    # every run of the campaign, experiments and planner records alike, carries "x"
    assert _plan_names(lab, "x") == ["measure_recipe", "measure_recipe", "planner_record"]
    assert _plan_names(lab, planner.campaign_id) == []
    # and the campaign resumes under that id
    restored = resume_planner(lab, "x")
    assert len(restored.observations) == 2
    assert restored.campaign_id == "x"


def test_two_different_ids_are_refused_naming_both(lab: Lab) -> None:
    planner = bench_planner(seed=0, initial_design=2)
    run = lab.submit(campaign(lab, planner, budget=1, campaign_id="y"), campaign_id="x")
    with pytest.raises(ValueError, match=r"campaign_id='y'.*campaign_id='x'"):
        run.wait(60)
    assert run.uids == []  # refused before any run opened
    assert planner.history == []  # and before the planner was asked


def test_the_same_id_twice_is_fine(lab: Lab) -> None:
    planner = bench_planner(seed=0, initial_design=1)
    run = lab.submit(campaign(lab, planner, budget=1, campaign_id="x"), campaign_id="x")
    run.wait(120)
    lab.wait(60)
    assert _plan_names(lab, "x") == ["measure_recipe", "planner_record"]

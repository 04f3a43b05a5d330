"""A student's own planner runs a closed-loop campaign on the shared lab's queue."""

from __future__ import annotations

from typing import Any

import pytest
from tiled.queries import Key

from smartlab_kernel.campaign.loop import bench_planner
from smartlab_kernel.planner import Suggestion
from smartlab_kernel.serve.sandbox import Sandbox
from smartlab_kernel.session import Lab

pytestmark = pytest.mark.slow


def test_a_students_campaign_runs_on_the_shared_queue_with_review(sandbox: Sandbox) -> None:
    lab = Lab.connect(sandbox.url, api_key=sandbox.keys["student03"])
    planner = bench_planner(seed=4, initial_design=2)
    rounds: list[int] = []

    def review(suggestions: list[Suggestion]) -> list[Any]:
        rounds.append(len(suggestions))
        if len(rounds) == 2:
            return [{"temperature_c": 45.0}]  # edit
        if len(rounds) == 3:
            return ["reagent out of stock"]  # reject: does not count
        return [True] * len(suggestions)

    results = lab.campaign(planner, budget=3, approve=review, timeout=120)
    assert [r.decision for r in results] == ["accept", "edit", "accept"]
    assert all(r.outcomes and r.outcomes["yield"] == r.outcomes["yield"] for r in results), [
        r.error for r in results
    ]
    decisions = [rec.get("decision") for rec in planner.history if rec.get("decision")]
    assert decisions == ["accept", "edit", "reject", "accept"]

    mine = lab.catalog.search(Key("start.campaign_id") == planner.campaign_id)
    assert sorted(mine) == sorted(r.run_uid for r in results)
    edited = lab.catalog[results[1].run_uid].metadata["start"]
    assert edited["operator"] == "student03"
    assert edited["suggestion"]["id"] == results[1].suggestion.id
    assert edited["suggestion"]["decision"] == "edit"
    assert edited["executed"]["temperature_c"] == 45.0
    assert edited["recipe"]["temperature_c"] == 45.0
    numbers = [
        lab.catalog[r.run_uid].metadata["start"]["campaign_experiment"] for r in results
    ]  # the rejected suggestion takes no number
    assert numbers == [1, 2, 3] and edited["campaign_budget"] == 3
    other = Lab.connect(sandbox.url, api_key=sandbox.keys["student04"])
    assert not set(other.catalog.search(Key("start.campaign_id") == planner.campaign_id))

"""The rounds every campaign shares, run with a runner that needs no lab (issue 21)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from bluesky.utils import Msg

from smartlab_kernel.campaign import (
    Experiment,
    ExperimentResult,
    bench_planner,
    campaign_rounds,
    record_value,
)
from smartlab_kernel.campaign.rounds import no_messages, without_messages
from smartlab_kernel.planner import Planner, Suggestion


class Bench:
    """A runner whose 'lab' computes the value from the parameters at once."""

    def __init__(self, short_of_stock: int = 0) -> None:
        self.rounds: list[list[dict[str, Any]]] = []
        self.ended = 0
        self.short_of_stock = short_of_stock  # suggestions rejected for stock

    def in_stock(self, planner: Planner, suggestions: list[Suggestion]) -> list[Suggestion]:
        kept = []
        for suggestion in suggestions:
            if self.short_of_stock > 0:
                self.short_of_stock -= 1
                planner.reject(suggestion, reason="not in stock: stock_A")
            else:
                kept.append(suggestion)
        return kept

    def run_round(
        self,
        planner: Planner,
        experiments: list[Experiment],
        first_record: int,
        finished: Callable[[ExperimentResult], None],
    ) -> Any:
        self.rounds.append([e.md for e in experiments])
        for experiment in experiments:
            value = experiment.item.params["a_fraction"]
            uid = f"run-{experiment.md['campaign_experiment']}"
            finished(record_value(planner, experiment.item, "yield", "y", uid, value))
        return no_messages()

    def end_round(self, planner: Planner, first_record: int) -> Any:
        self.ended += 1
        return no_messages()


def test_rejected_suggestions_do_not_count_and_experiments_are_numbered_in_order() -> None:
    planner = bench_planner(seed=1, initial_design=12)  # space-filling only: no model to fit
    runner = Bench()

    def approve(suggestions: list[Suggestion]) -> list[Any]:
        if len(suggestions) == 1:
            return [True]
        return ["too hot", *([True] * (len(suggestions) - 1))]

    results = without_messages(
        campaign_rounds(runner, planner, budget=4, batch=2, campaign_id="c1", approve=approve)
    )
    assert len(results) == 4
    numbers = [md["campaign_experiment"] for round_ in runner.rounds for md in round_]
    assert numbers == [1, 2, 3, 4]
    assert all(
        md["campaign_id"] == "c1" and md["campaign_budget"] == 4 for r in runner.rounds for md in r
    )
    # rounds of two, one rejected each: 1, 2, 3; then one suggestion for the last
    assert [len(r) for r in runner.rounds] == [1, 1, 1, 1]
    assert runner.ended == 4
    rejects = [r for r in planner.history if r["event"] == "reject"]
    assert [r["reason"] for r in rejects] == ["too hot"] * 3
    assert len(planner.observations) == 4


def test_rounds_without_stock_end_the_campaign_loudly() -> None:
    planner = bench_planner(seed=1, initial_design=3)
    runner = Bench(short_of_stock=100)
    with pytest.raises(RuntimeError, match="lacks stock for every suggestion of 3 rounds"):
        without_messages(campaign_rounds(runner, planner, budget=2, batch=1, campaign_id="c2"))
    assert runner.rounds == [] and runner.ended == 3


def test_a_runner_that_needs_a_run_engine_is_refused_without_one() -> None:
    def plan() -> Any:
        yield Msg("null")

    with pytest.raises(RuntimeError, match="needs a RunEngine"):
        without_messages(plan())

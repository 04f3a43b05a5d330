"""Review decisions as data: ``planner.decisions`` keeps every accept, edit, reject and failure."""

from __future__ import annotations

import math

import pytest

from smartlab_kernel.planner import InvalidConfigError, Objective, Planner, Real


def test_every_decision_is_a_row_with_who_why_suggested_and_executed() -> None:
    planner = Planner([Real("t", 20, 90)], [Objective("yield")], seed=0, initial_design=2)
    a, b, c = planner.suggest(3)
    planner.observe(a, {"yield": 0.4}, by="ada")
    planner.reject(b, "too hot for the septum", by="ben")
    edited = {"t": 55.0}
    planner.observe(edited, {"yield": 0.7}, suggestion=c, by="ada")
    [d] = planner.suggest(1)
    planner.fail(d, "pump stalled")

    frame = planner.decisions
    assert list(frame["decision"]) == ["accept", "reject", "edit", "fail"]
    assert list(frame["by"]) == ["ada", "ben", "ada", None]
    assert frame.loc[1, "reason"] == "too hot for the septum"
    assert frame.loc[1, "suggested.t"] == b.params["t"] and math.isnan(frame.loc[1, "executed.t"])
    assert frame.loc[2, "suggested.t"] == c.params["t"] and frame.loc[2, "executed.t"] == 55.0
    assert frame.loc[2, "yield"] == 0.7 and math.isnan(frame.loc[1, "yield"])
    assert math.isnan(frame.loc[0, "predicted.yield"])  # design points have no prediction
    assert frame.loc[3, "predicted.yield"] == pytest.approx(d.predicted["yield"][0])
    assert frame["time"].is_monotonic_increasing


def test_decisions_survive_a_restore_from_the_records() -> None:
    planner = Planner([Real("t", 20, 90)], [Objective("yield")], seed=0)
    [s] = planner.suggest(1)
    planner.reject(s, "no", by="ben")
    again = Planner.restore(planner.to_config(), planner.history)
    assert again.decisions.equals(planner.decisions)


@pytest.mark.parametrize("by", ["", 7])
def test_who_decided_must_be_a_name(by: object) -> None:
    planner = Planner([Real("t", 20, 90)], [Objective("yield")], seed=0)
    [s] = planner.suggest(1)
    with pytest.raises(InvalidConfigError, match="by must be a non-empty str"):
        planner.reject(s, "no", by=by)  # type: ignore[arg-type]
    assert planner.decisions.empty

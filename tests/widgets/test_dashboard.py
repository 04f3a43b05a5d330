from __future__ import annotations

import html
import threading
from collections.abc import Callable, Mapping
from typing import Any

from smartlab_kernel.campaign import bench_planner, bench_recipe, campaign
from smartlab_kernel.planner import Objective, Planner, Real, Suggestion
from smartlab_kernel.plans import Recipe
from smartlab_kernel.session import Lab
from smartlab_kernel.widgets.dashboard import CampaignDashboard, dashboard
from smartlab_kernel.widgets.planner_review import SuggestionRow


def test_dashboard_composes_every_widget(lab: Lab, messages: list[dict[str, Any]]) -> None:
    planner = Planner([Real("temperature_c", 20, 90)], [Objective("yield")], seed=0)
    board = dashboard(lab, planner)
    assert isinstance(board, CampaignDashboard)
    titles = [board.tabs.get_title(i) for i in range(len(board.tabs.children))]
    assert titles == ["Run", "Planner", "Devices", "History"]
    assert set(board.device_panels) == set(lab.devices)
    assert "Campaign" in board.summary.value and "finished" in board.summary.value
    planner.observe({"temperature_c": 50.0}, {"yield": 0.4})
    board.refresh()
    assert "best so far: <b>yield = 0.4</b>" in board.summary.value
    board.close()
    planner.close()


def test_dashboard_without_planner(lab: Lab) -> None:
    board = dashboard(lab)
    titles = [board.tabs.get_title(i) for i in range(len(board.tabs.children))]
    assert titles == ["Run", "Devices", "History"]
    assert board.planner_review is None
    board.close()


def _experiment_hold(hold_s: float) -> Callable[[Mapping[str, Any]], Recipe]:
    """The bench recipe with every experiment held ``hold_s`` simulated seconds."""
    return lambda params: bench_recipe({**params, "hold_s": hold_s})


def _note(row: SuggestionRow) -> str:
    return html.unescape(row.status.value)


def test_a_running_campaigns_suggestions_are_locked_until_it_runs_them(
    idle_lab: Lab, wait_for: Callable[..., None]
) -> None:
    """Issue 18, finding 4: a reject here made the campaign fail (DuplicateObservationError)."""
    lab = idle_lab
    planner = bench_planner(seed=0, initial_design=2)
    accepted: list[str] = []
    board = dashboard(lab, planner, on_accept=lambda p, s: accepted.append(s.id))
    review = board.planner_review
    assert review is not None
    offered: list[Suggestion] = []
    release = threading.Event()

    def approve(suggestions: list[Suggestion]) -> list[bool]:
        offered.extend(suggestions)
        release.wait(60)  # the campaign's own reviewer takes its time
        return [True] * len(suggestions)

    run = lab.submit(campaign(lab, planner, budget=2, batch=2, approve=approve))
    try:
        wait_for(lambda: len(offered) == 2, what="the campaign's suggestions")
        board.refresh()
        first, second = (s.id for s in offered)
        for sid in (first, second):
            row = review.rows[sid]
            assert row.accept_button.disabled and row.reject_button.disabled
            assert row.reason.disabled and all(c.disabled for c in row.cells.values())
            assert f"proposed while run #{run.number} (campaign) runs" in _note(row)
        assert review.accept_all_button.disabled
        review.rows[first].reason.value = "too hot"
        assert not review.reject(first, "too hot")
        message = html.unescape(review.message.value)
        assert f"{first} not rejected" in message and f"run #{run.number}" in message
        assert not review.accept(second)
        assert f"{second} not accepted" in html.unescape(review.message.value)
        review.rows[second].cells["temperature_c"].value = "50"
        assert not review.accept(second)  # an edit neither
        assert not review.accept_all()
        assert accepted == [] and [s.id for s in planner.pending] == [first, second]
    finally:
        release.set()
    run.wait(120)
    assert run.state == "finished", run.reason
    assert list(planner.observations["suggestion_id"]) == [first, second]
    board.refresh()
    assert review.rows == {}
    board.close()
    planner.close()


def test_a_locked_row_says_which_experiment_it_is_and_frees_when_the_run_ends(
    idle_lab: Lab, wait_for: Callable[..., None]
) -> None:
    lab = idle_lab
    planner = bench_planner(seed=1, initial_design=2)
    board = dashboard(lab, planner)
    review = board.planner_review
    assert review is not None
    long_hold = _experiment_hold(40_000.0)  # 20 s at the test lab's time scale
    run = lab.submit(campaign(lab, planner, budget=2, batch=2, recipe=long_hold))

    def first_running() -> bool:
        board.refresh()
        return any("running as experiment 1 of 2" in _note(r) for r in review.rows.values())

    wait_for(first_running, what="experiment 1 of 2 to start")
    running, waiting = sorted(review.rows.values(), key=lambda r: "running as" not in _note(r))
    assert f"running as experiment 1 of 2 (run #{run.number})" in _note(running)
    assert running.reject_button.disabled
    assert not review.reject(running.suggestion.id, "wrong solvent")
    assert "running as experiment 1 of 2" in html.unescape(review.message.value)
    assert waiting.reject_button.disabled and "proposed while run" in _note(waiting)
    lab.abort("test: stop the campaign")
    wait_for(lambda: run.done, what="the campaign to end")
    board.refresh()
    # The aborted experiment was failed by the campaign; the other one is free now.
    assert list(review.rows) == [waiting.suggestion.id]
    assert not waiting.reject_button.disabled and _note(waiting) == ""
    assert review.reject(waiting.suggestion.id, "campaign aborted")
    board.close()
    planner.close()


def test_only_what_the_campaign_holds_is_locked(
    idle_lab: Lab, wait_for: Callable[..., None]
) -> None:
    lab = idle_lab
    planner = bench_planner(seed=2, initial_design=4)
    accepted: list[str] = []
    board = dashboard(lab, planner, on_accept=lambda p, s: accepted.append(s.id))
    review = board.planner_review
    assert review is not None
    (before,) = planner.suggest(1)  # made in a cell before the campaign: not the campaign's
    offered: list[Suggestion] = []
    release = threading.Event()

    def approve(suggestions: list[Suggestion]) -> list[bool]:
        offered.extend(suggestions)
        release.wait(60)
        return [True] * len(suggestions)

    run = lab.submit(campaign(lab, planner, budget=1, batch=1, approve=approve))
    try:
        wait_for(lambda: len(offered) == 1, what="the campaign's suggestion")
        (own,) = review.suggest(1).result(60)  # asked for here while the campaign runs
        wait_for(lambda: not review.suggest_button.disabled, what="the widget's suggestion")
        board.refresh()
        assert review.rows[offered[0].id].reject_button.disabled
        assert not review.rows[before.id].reject_button.disabled
        assert not review.rows[own.id].reject_button.disabled
        assert not review.accept_all_button.disabled
        assert review.accept_all()
        assert accepted == [before.id, own.id]
        assert f"left {offered[0].id}" in html.unescape(review.message.value)
    finally:
        release.set()
    run.wait(120)
    assert run.state == "finished", run.reason
    board.close()
    planner.close()

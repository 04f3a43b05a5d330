from __future__ import annotations

import html
import re
import time
from typing import Any

import pytest

from smartlab_kernel.planner import Categorical, Integer, Objective, Planner, Real, Suggestion
from smartlab_kernel.session import Lab
from smartlab_kernel.widgets.planner_review import REJECTED_COLOUR, PlannerReview


@pytest.fixture
def planner() -> Planner:
    return Planner(
        [
            Real("temperature_c", 20.0, 90.0),
            Integer("stir_rpm", 100, 1200),
            Categorical("solvent", ("water", "ethanol")),
        ],
        [Objective("yield", "maximize")],
        seed=0,
        initial_design=3,
    )


def _suggest(review: PlannerReview, n: int) -> None:
    """Suggest and wait until the widget has shown them (the callback ends the wait)."""
    review.suggest(n).result(60)
    deadline = time.monotonic() + 10
    while review.suggest_button.disabled and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not review.suggest_button.disabled


@pytest.fixture
def accepted() -> list[tuple[dict[str, Any], Suggestion]]:
    return []


@pytest.fixture
def review(planner: Planner, accepted: list[tuple[dict[str, Any], Suggestion]]) -> PlannerReview:
    widget = PlannerReview(planner, on_accept=lambda p, s: accepted.append((p, s)) or "handle")
    _suggest(widget, 2)
    return widget


def _text(widget: Any) -> str:
    return html.unescape(widget.value)


def test_suggestions_table_shows_params_prediction_and_reason(review: PlannerReview) -> None:
    assert len(review.rows) == 2
    row = next(iter(review.rows.values()))
    assert set(row.cells) == {"temperature_c", "stir_rpm", "solvent"}
    texts = [getattr(c, "value", "") for c in review.table.children]
    assert any("initial design" in t for t in texts)
    assert any("Sobol" in t for t in texts)
    assert "nothing accepted yet" in review.executed.value
    assert "no data yet" in _text(review.plot_note)


@pytest.mark.parametrize(
    ("cell", "text", "error"),
    [
        (
            "temperature_c",
            "hot",
            "'temperature_c' must be a real number in [20.0, 90.0], got 'hot'",
        ),
        ("temperature_c", "95", "'temperature_c' = 95.0 is outside its bounds [20.0, 90.0]"),
        ("stir_rpm", "300.5", "'stir_rpm' must be an integer in [100, 1200], got 300.5"),
        ("solvent", "acetone", "'solvent' = 'acetone' is not one of its choices"),
    ],
)
def test_bad_edits_are_refused_and_nothing_is_accepted(
    review: PlannerReview, accepted: list[Any], cell: str, text: str, error: str
) -> None:
    sid, row = next(iter(review.rows.items()))
    row.cells[cell].value = text
    row.accept_button.click()
    assert error in _text(review.message)
    assert "not accepted" in _text(review.message)
    assert accepted == [] and sid in review.rows and review.accepted == {}


def test_accept_unedited_and_edited(review: PlannerReview, accepted: list[Any]) -> None:
    (first, row1), (second, row2) = list(review.rows.items())
    row1.accept_button.click()
    params, suggestion = accepted[0]
    assert suggestion.id == first and params == suggestion.params
    assert not review.accepted[first].edited and review.accepted[first].handle == "handle"
    row2.cells["temperature_c"].value = "55.5"
    row2.cells["solvent"].value = "ethanol"
    row2.accept_button.click()
    params2, _ = accepted[1]
    assert params2["temperature_c"] == 55.5 and params2["solvent"] == "ethanol"
    assert review.accepted[second].edited
    assert "accepted" in _text(review.message) and "(edited)" in _text(review.message)
    assert review.rows == {} and "no open suggestions" in review.table.children[0].value
    assert "<b>55.5</b>" in review.executed.value


def test_reject_needs_a_reason(review: PlannerReview, planner: Planner) -> None:
    sid, row = next(iter(review.rows.items()))
    row.reject_button.click()
    assert "give a reason" in _text(review.message)
    assert sid in review.rows
    row.reason.value = "reactor busy"
    row.reject_button.click()
    assert sid not in review.rows
    assert planner.history[-1]["event"] == "reject"
    assert planner.history[-1]["reason"] == "reactor busy"


def test_accept_all_is_all_or_nothing(review: PlannerReview, accepted: list[Any]) -> None:
    rows = list(review.rows.values())
    rows[1].cells["stir_rpm"].value = "5000"
    review.accept_all_button.click()
    assert "nothing accepted" in _text(review.message) and accepted == []
    rows[1].cells["stir_rpm"].value = "500"
    review.accept_all_button.click()
    assert len(accepted) == 2 and review.rows == {}
    review.accept_all_button.click()
    assert "no suggestions to accept" in _text(review.message)


def test_on_accept_errors_are_shown_and_the_row_stays(planner: Planner) -> None:
    def broken(params: dict[str, Any], suggestion: Suggestion) -> None:
        raise RuntimeError("lab is closed")

    review = PlannerReview(planner, on_accept=broken)
    _suggest(review, 1)
    sid = next(iter(review.rows))
    assert not review.accept(sid)
    assert "on_accept raised RuntimeError: lab is closed" in _text(review.message)
    assert sid in review.rows


def test_observations_update_executed_table_and_plots(
    review: PlannerReview, planner: Planner, accepted: list[Any]
) -> None:
    review.accept_all()
    for value, (params, suggestion) in zip([0.3, 0.6], accepted, strict=True):
        planner.observe(params, {"yield": value}, suggestion=suggestion)
    _suggest(review, 1)
    review.accept_all()
    params, suggestion = accepted[-1]
    planner.observe(params, {"yield": 0.5}, suggestion=suggestion)
    _suggest(review, 1)
    assert "yield 0.3" in review.executed.value and "accept" in review.executed.value
    assert review.plot_note.value == ""
    assert review.plot.value[:4] == b"\x89PNG"
    before = review.plot.value
    review.along.value = "stir_rpm"
    assert review.plot.value != before
    (row,) = review.rows.values()
    assert row.suggestion.predicted is not None
    assert any("±" in getattr(c, "value", "") for c in review.table.children)


def test_action_buttons_come_first_in_each_row_and_ids_do_not_wrap(
    review: PlannerReview,
) -> None:
    columns = len(review.planner.space.names) + 4
    header = [_text(c) for c in review.table.children[:columns]]
    assert header[:2] == ["<b></b>", "<b>id</b>"]
    assert "Temperature (degC)" in header[2], "parameters labelled in words with units"
    for sid, row in review.rows.items():
        first = row.widgets(review._objectives)[0]
        buttons = [c for box in first.children for c in getattr(box, "children", ())]
        assert buttons[:3] == [row.accept_button, row.reject_button, row.reason]
        assert row.status in first.children, "what locks the row is said beside its buttons"
        ident = row.widgets(review._objectives)[1]
        assert "white-space:nowrap" in ident.value and "text-overflow:ellipsis" in ident.value
        assert f"title='{sid}'" in ident.value, "the whole id on hover"
    rows = review.table.children[columns:]
    assert "smartlab-row-actions" in rows[0]._dom_classes
    assert "smartlab-row-actions" in rows[columns]._dom_classes


def test_no_data_yet_instead_of_empty_axes_then_whole_experiment_ticks(
    review: PlannerReview, planner: Planner, accepted: list[Any]
) -> None:
    assert review.plot.layout.display == "none", "no empty 0-1 axes before any data"
    assert review.plot.value == b""
    assert "no data yet" in _text(review.plot_note)
    review.accept_all()
    params, suggestion = accepted[0]
    planner.observe(params, {"yield": 0.4}, suggestion=suggestion)
    review.refresh()
    assert review.plot.layout.display is None and review.plot.value[:4] == b"\x89PNG"
    assert "two observations" in _text(review.plot_note)
    left, right = review.figure().axes
    ticks = [t for t in left.get_xticks() if left.get_xlim()[0] <= t <= left.get_xlim()[1]]
    assert ticks and all(float(t).is_integer() for t in ticks), ticks
    assert left.get_xlabel() == "Experiment" and left.get_ylabel() == "Yield"
    assert not right.axison, "the prediction axes say why they are empty"
    assert "two observations" in " ".join(t.get_text() for t in right.texts)
    params, suggestion = accepted[1]
    planner.observe(params, {"yield": 0.7}, suggestion=suggestion)
    _, right = review.figure().axes
    assert right.get_xlabel() == "Temperature (degC)"


def _rejected_cells(review: PlannerReview) -> list[str]:
    return [_text(c) for c in review.table.children if "smartlab-rejected-row" in c._dom_classes]


def test_a_rejected_suggestion_stays_greyed_with_its_reason_who_and_when(
    planner: Planner,
) -> None:
    review = PlannerReview(planner, user="alice")
    _suggest(review, 2)
    (first, row1), (second, row2) = list(review.rows.items())
    row1.reason.value = "reactor busy"
    row1.reject_button.click()
    assert first not in review.rows, "no longer decidable"
    assert [r.suggestion_id for r in review.rejections] == [first]
    cells = _rejected_cells(review)
    assert any(first in c for c in cells), cells
    status = next(c for c in cells if "rejected by" in c)
    assert re.search(r"rejected by alice, \d{4}-\d\d-\d\d \d\d:\d\d UTC: reactor busy", status)
    assert all(f"color:{REJECTED_COLOUR}" in c for c in cells), "greyed"
    decision = planner.decisions.iloc[-1]
    assert decision["decision"] == "reject" and decision["by"] == "alice"
    assert decision["reason"] == "reactor busy"
    # Still there once nothing is open any more, under the 'no open suggestions' line.
    row2.reason.value = "too hot"
    row2.reject_button.click()
    assert review.rows == {}
    assert [r.suggestion_id for r in review.rejections] == [first, second]
    assert "no open suggestions" in _text(review.table.children[len(planner.space.names) + 4])
    assert sum("rejected by alice" in c for c in _rejected_cells(review)) == 2


def test_a_rejection_without_a_user_says_no_one(planner: Planner) -> None:
    review = PlannerReview(planner)
    _suggest(review, 1)
    sid = next(iter(review.rows))
    assert review.reject(sid, "vial cracked")
    assert any("rejected, " in c and "vial cracked" in c for c in _rejected_cells(review))
    assert review.user is None
    assert planner.decisions.iloc[-1]["by"] is None


def test_the_lab_operator_decides_and_is_recorded_on_accept_and_edit(
    planner: Planner, lab: Lab
) -> None:
    review = PlannerReview(planner, lab=lab)
    assert review.user == lab.operator and review.user
    _suggest(review, 2)
    (first, _), (second, row2) = list(review.rows.items())
    assert review.accept(first)
    row2.cells["temperature_c"].value = "55.5"
    assert review.accept(second)
    assert review.accepted[first].by == lab.operator
    review.record_outcome(first, {"yield": 0.4})
    review.record_outcome(second, {"yield": 0.6})
    decisions = planner.decisions
    assert list(decisions["decision"]) == ["accept", "edit"]
    assert list(decisions["by"]) == [lab.operator, lab.operator]
    assert decisions.iloc[-1]["executed.temperature_c"] == 55.5
    with pytest.raises(KeyError, match=r"'nope' was not accepted in this review; accepted here"):
        review.record_outcome("nope", {"yield": 0.1})


@pytest.mark.parametrize("user", ["", "  ", 3])
def test_a_bad_user_is_refused(planner: Planner, user: Any) -> None:
    with pytest.raises(ValueError, match=r"user must be a non-empty name .* got "):
        PlannerReview(planner, user=user)

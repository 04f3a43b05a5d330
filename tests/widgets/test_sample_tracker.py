from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import ipywidgets as w
import pytest

from smartlab_kernel.lims import LimsStore, SampleState
from smartlab_kernel.widgets.sample_tracker import SampleTracker


@pytest.fixture
def lims(tmp_path: Path) -> Iterator[LimsStore]:
    store = LimsStore.open(tmp_path / "lims.sqlite", operator="tester")
    yield store
    store.close()


@pytest.fixture
def tracker(lims: LimsStore) -> SampleTracker:
    return SampleTracker(lims, operator="ana")


def _error(tracker: SampleTracker) -> str:
    return tracker.error.value if tracker.error.layout.display != "none" else ""


def _buttons(tracker: SampleTracker) -> dict[str, w.Button]:
    return {b.description: b for b in tracker.transitions.children}


def test_register_button_registers_and_selects(tracker: SampleTracker, lims: LimsStore) -> None:
    stock = lims.register_sample("stock_solution")
    tracker.sample_type.value = "mixture"
    tracker.parents.value = f" {stock.sample_id.lower()} "
    tracker.location.value = "rack1:A3"
    tracker.campaign.value = "c1"
    tracker.register_button.click()
    assert _error(tracker) == ""
    selected = tracker.selected
    assert selected is not None
    assert selected.parents == (stock.sample_id,)
    assert selected.location == "rack1:A3" and selected.campaign_id == "c1"
    assert lims.history(selected.sample_id)[0].operator == "ana"
    assert f"registered {selected.sample_id}" in tracker.status.value
    assert tracker.results.value is None and tracker.results.options[0][1] == selected.sample_id
    assert stock.sample_id in tracker.lineage.value
    assert "register_sample" in tracker.history.value
    assert set(_buttons(tracker)) == {"prepared", "invalidated"}


@pytest.mark.parametrize(
    ("sample_type", "parents", "message"),
    [
        ("", "", "enter a sample type"),
        ("mixture", "S-22222", "no sample with id"),
        ("mixture", "S-22222, S-22222", "parents must be distinct"),
    ],
)
def test_register_with_bad_input_shows_error(
    tracker: SampleTracker, lims: LimsStore, sample_type: str, parents: str, message: str
) -> None:
    tracker.sample_type.value = sample_type
    tracker.parents.value = parents
    tracker.register_button.click()
    assert message in _error(tracker)
    assert tracker.error.layout.display != "none"
    assert lims.find_samples() == []
    tracker.sample_type.value = "mixture"
    tracker.parents.value = ""
    tracker.register_button.click()
    assert _error(tracker) == ""  # cleared by the next successful action


def test_find_button_filters_by_id_type_and_state(tracker: SampleTracker, lims: LimsStore) -> None:
    a = lims.register_sample("mixture")
    b = lims.register_sample("blank")
    lims.transition(b.sample_id, "prepared")
    tracker.query_type.value = "mixture"
    tracker.find_button.click()
    assert [v for _, v in tracker.results.options] == [a.sample_id]
    tracker.query_type.value = ""
    tracker.query_state.value = "prepared"
    tracker.find_button.click()
    assert [v for _, v in tracker.results.options] == [b.sample_id]
    tracker.query_state.value = ""
    tracker.query_id.value = a.sample_id[2:].lower()
    tracker.find_button.click()
    assert [v for _, v in tracker.results.options] == [a.sample_id]
    tracker.query_id.value = "nothing-like-this"
    tracker.find_button.click()
    assert tracker.results.options == () and "0 sample(s)" in tracker.status.value
    assert _error(tracker) == ""


def test_selecting_a_result_shows_it(tracker: SampleTracker, lims: LimsStore) -> None:
    parent = lims.register_sample("stock_solution")
    child = lims.register_sample("mixture", parents=[parent.sample_id])
    tracker.find_button.click()
    tracker.results.value = parent.sample_id
    assert tracker.selected is not None and tracker.selected.sample_id == parent.sample_id
    assert child.sample_id in tracker.lineage.value
    assert parent.sample_id in tracker.details.value


def test_transition_buttons_follow_the_state_machine(
    tracker: SampleTracker, lims: LimsStore
) -> None:
    sample = lims.register_sample("mixture")
    tracker.select(sample.sample_id)
    for state in ("prepared", "measured", "stored", "disposed"):
        _buttons(tracker)[state].click()
        assert _error(tracker) == ""
        assert lims.get_sample(sample.sample_id).state.value == state
    assert _buttons(tracker) == {}
    assert "transition" in tracker.history.value and "disposed" in tracker.history.value


def test_invalidate_button(tracker: SampleTracker, lims: LimsStore) -> None:
    sample = lims.register_sample("mixture")
    tracker.select(sample.sample_id)
    _buttons(tracker)["invalidated"].click()
    assert lims.get_sample(sample.sample_id).state is SampleState.INVALIDATED
    assert _buttons(tracker) == {}


def test_stale_transition_button_shows_the_error(tracker: SampleTracker, lims: LimsStore) -> None:
    sample = lims.register_sample("mixture")
    tracker.select(sample.sample_id)
    stale = _buttons(tracker)["prepared"]
    lims.transition(sample.sample_id, "invalidated")  # someone else, elsewhere
    stale.click()
    assert "cannot go from 'invalidated' to 'prepared'" in _error(tracker)
    assert _buttons(tracker) == {}  # the buttons now match the real state


def test_transition_without_selection_shows_error(tracker: SampleTracker) -> None:
    tracker._guard(lambda: tracker.transition_to("prepared"))
    assert "select a sample first" in _error(tracker)


def test_unexpected_errors_are_shown_and_reraised(tracker: SampleTracker) -> None:
    def broken() -> None:
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        tracker._guard(broken)
    assert "unexpected RuntimeError: disk on fire" in _error(tracker)


def test_html_is_escaped(tracker: SampleTracker, lims: LimsStore) -> None:
    sample = lims.register_sample("<script>x</script>", location="<b>")
    tracker.select(sample.sample_id)
    assert "<script>" not in tracker.details.value
    assert "&lt;script&gt;" in tracker.details.value


def test_a_labs_lims_link_is_accepted_and_its_store_used(tmp_path: Path) -> None:
    from smartlab_kernel.session import Lab

    with Lab.simulated(seed=0, directory=tmp_path / "lab", lims=True) as lab:
        tracker = SampleTracker(lab.lims, operator="ana")
        tracker.sample_type.value = "mixture"
        tracker.register_button.click()
        assert _error(tracker) == ""  # was: 'LimsLink' object has no attribute 'register_sample'
        assert tracker.lims is lab.lims.store
        assert tracker.selected is not None
        assert lab.lims.store.get_sample(tracker.selected.sample_id).created_by == "ana"


@pytest.mark.parametrize(
    ("given", "named"),
    [(None, "NoneType None (a lab without a LIMS"), ("lims.sqlite", "str 'lims.sqlite'")],
)
def test_anything_else_is_refused_at_construction(given: object, named: str) -> None:
    with pytest.raises(TypeError) as info:
        SampleTracker(given)  # type: ignore[arg-type]
    message = str(info.value)
    assert "a lab's link (lab.lims) or an open LimsStore" in message
    assert f"got {named}" in message


def test_the_list_follows_each_state_change(tracker: SampleTracker, lims: LimsStore) -> None:
    a = lims.register_sample("mixture")
    b = lims.register_sample("blank")
    tracker.find_button.click()
    tracker.results.value = a.sample_id
    _buttons(tracker)["prepared"].click()
    assert _error(tracker) == ""
    labels = {v: label for label, v in tracker.results.options}
    assert labels[a.sample_id].endswith("[prepared]")
    assert labels[b.sample_id].endswith("[registered]")
    lims.transition(b.sample_id, "invalidated")  # someone else, elsewhere
    _buttons(tracker)["measured"].click()
    labels = {v: label for label, v in tracker.results.options}
    assert labels[a.sample_id].endswith("[measured]")
    assert labels[b.sample_id].endswith("[invalidated]")  # re-read, not only the one changed


def test_a_refused_transition_also_refreshes_the_list(
    tracker: SampleTracker, lims: LimsStore
) -> None:
    sample = lims.register_sample("mixture")
    tracker.find_button.click()
    tracker.results.value = sample.sample_id
    stale = _buttons(tracker)["prepared"]
    lims.transition(sample.sample_id, "invalidated")  # someone else, elsewhere
    stale.click()
    assert "cannot go from 'invalidated' to 'prepared'" in _error(tracker)
    assert tracker.results.options[0][0].endswith("[invalidated]")

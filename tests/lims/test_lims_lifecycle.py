from __future__ import annotations

import pytest

from smartlab_kernel.lims import (
    SAMPLE_ID_ALPHABET,
    TRANSITIONS,
    DuplicateError,
    IllegalTransitionError,
    LimsStore,
    SampleState,
    UnknownSampleError,
    allowed_next,
    is_sample_id,
    new_sample_id,
    normalize_sample_id,
)


def test_generated_ids_are_short_unambiguous_and_distinct() -> None:
    ids = {new_sample_id() for _ in range(2000)}
    assert len(ids) > 1990
    for sample_id in ids:
        assert is_sample_id(sample_id)
        assert len(sample_id) == 7
        assert not set(sample_id[2:]) & set("01ILOU")
    assert set("".join(i[2:] for i in ids)) <= set(SAMPLE_ID_ALPHABET)
    assert normalize_sample_id(" s-7kq2m ") == "S-7KQ2M"


def test_transition_table_shape() -> None:
    assert allowed_next("registered") == (SampleState.PREPARED, SampleState.INVALIDATED)
    for state, following in TRANSITIONS.items():
        if following:
            assert SampleState.INVALIDATED in following
        else:
            assert state in (SampleState.DISPOSED, SampleState.INVALIDATED)


def test_full_lifecycle(lims: LimsStore) -> None:
    sample = lims.register_sample("mixture", location="rack1:B1", metadata={"note": "x"})
    assert is_sample_id(sample.sample_id)
    assert sample.state is SampleState.REGISTERED
    assert sample.created_by == "tester"
    for state in ("prepared", "measured", "stored", "disposed"):
        sample = lims.transition(sample.sample_id, state)
        assert sample.state.value == state
    assert sample.allowed_next == ()
    assert lims.get_sample(sample.sample_id.lower()).state is SampleState.DISPOSED


def test_illegal_transition_names_current_requested_and_allowed(lims: LimsStore) -> None:
    sample = lims.register_sample("mixture")
    with pytest.raises(IllegalTransitionError) as info:
        lims.transition(sample.sample_id, "stored")
    message = str(info.value)
    assert sample.sample_id in message
    assert "'registered'" in message and "'stored'" in message
    assert "prepared, invalidated" in message
    assert info.value.allowed == ("prepared", "invalidated")
    assert lims.get_sample(sample.sample_id).state is SampleState.REGISTERED


def test_invalidated_from_any_non_final_state_and_final_after(lims: LimsStore) -> None:
    path = ["prepared", "measured", "stored"]
    for depth in range(len(path) + 1):
        sample = lims.register_sample("mixture")
        for state in path[:depth]:
            lims.transition(sample.sample_id, state)
        assert lims.transition(sample.sample_id, "invalidated").state is SampleState.INVALIDATED
        with pytest.raises(IllegalTransitionError, match=r"none \(final state\)"):
            lims.transition(sample.sample_id, "prepared")


def test_unknown_state_and_unknown_sample(lims: LimsStore) -> None:
    sample = lims.register_sample("mixture")
    with pytest.raises(ValueError, match="unknown sample state 'cooked'"):
        lims.transition(sample.sample_id, "cooked")
    with pytest.raises(UnknownSampleError, match="S-22222"):
        lims.transition("S-22222", "prepared")


def test_register_validates_parents_type_and_ids(lims: LimsStore) -> None:
    a = lims.register_sample("stock_solution")
    with pytest.raises(UnknownSampleError):
        lims.register_sample("mixture", parents=[a.sample_id, "S-99999"])
    with pytest.raises(DuplicateError):
        lims.register_sample("mixture", parents=[a.sample_id, a.sample_id])
    with pytest.raises(ValueError, match="sample_type"):
        lims.register_sample("  ")
    with pytest.raises(DuplicateError, match="already registered"):
        lims.register_sample("mixture", sample_id=a.sample_id)
    with pytest.raises(ValueError, match="JSON"):
        lims.register_sample("mixture", metadata={"bad": object()})
    assert [s.sample_id for s in lims.find_samples(sample_type="mixture")] == []


def test_move_metadata_and_find(lims: LimsStore) -> None:
    sample = lims.register_sample("mixture", location="robot:deck1", campaign_id="c1")
    moved = lims.move(sample.sample_id, "rack2:C4")
    assert moved.location == "rack2:C4"
    with lims.transaction() as tx:
        updated = tx.update_metadata(sample.sample_id, {"ph": 7.2})
    assert updated.metadata == {"ph": 7.2}
    other = lims.register_sample("blank")
    lims.transition(other.sample_id, "prepared")
    assert [s.sample_id for s in lims.find_samples(state="prepared")] == [other.sample_id]
    assert [s.sample_id for s in lims.find_samples(sample_type="mixture")] == [sample.sample_id]
    assert [s.sample_id for s in lims.find_samples(id_contains=sample.sample_id[2:])] == [
        sample.sample_id
    ]
    assert len(lims.find_samples()) == 2
    assert len(lims.find_samples(limit=1)) == 1

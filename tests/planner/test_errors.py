"""Bad input raises a clear error and leaves the planner's state unchanged."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

from smartlab_kernel.planner import (
    Categorical,
    ConstraintViolationError,
    DuplicateObservationError,
    Integer,
    InvalidOutcomeError,
    Objective,
    OutOfBoundsError,
    ParameterTypeError,
    Planner,
    PlannerError,
    Real,
    SumConstraint,
    UnknownParameterError,
    UnknownSuggestionError,
)


@pytest.fixture
def planner() -> Planner:
    p = Planner(
        [
            Real("a", 0, 1),
            Real("b", 0, 1),
            Integer("rpm", 100, 1000),
            Categorical("base", ["DBU", "MTBD"]),
        ],
        [Objective("yield")],
        constraints=[SumConstraint(["a", "b"], 1.0)],
        seed=0,
    )
    first = p.suggest(2)
    p.observe(first[0], {"yield": 1.0})
    return p


GOOD = {"a": 0.5, "b": 0.5, "rpm": 300, "base": "DBU"}

CASES: list[tuple[str, Callable[[Planner], object], type[Exception], str]] = [
    ("nan", lambda p: p.observe(GOOD, {"yield": math.nan}), InvalidOutcomeError, "nan"),
    ("inf", lambda p: p.observe(GOOD, {"yield": math.inf}), InvalidOutcomeError, "inf"),
    ("str outcome", lambda p: p.observe(GOOD, {"yield": "high"}), InvalidOutcomeError, "high"),
    ("missing objective", lambda p: p.observe(GOOD, {}), InvalidOutcomeError, "missing"),
    (
        "unknown objective",
        lambda p: p.observe(GOOD, {"yield": 1.0, "purity": 2.0}),
        InvalidOutcomeError,
        "purity",
    ),
    (
        "edit out of bounds",
        lambda p: p.observe(dict(GOOD, rpm=5000), {"yield": 1.0}, suggestion=p.pending[0]),
        OutOfBoundsError,
        "5000",
    ),
    (
        "edit wrong type",
        lambda p: p.observe(dict(GOOD, rpm="fast"), {"yield": 1.0}, suggestion=p.pending[0]),
        ParameterTypeError,
        "fast",
    ),
    (
        "float for integer",
        lambda p: p.observe(dict(GOOD, rpm=300.5), {"yield": 1.0}),
        ParameterTypeError,
        "300.5",
    ),
    (
        "unknown parameter",
        lambda p: p.observe(dict(GOOD, pressure=2.0), {"yield": 1.0}),
        UnknownParameterError,
        "pressure",
    ),
    (
        "edit violates constraint",
        lambda p: p.observe(dict(GOOD, a=0.9), {"yield": 1.0}, suggestion=p.pending[0]),
        ConstraintViolationError,
        "a \\+ 1\\*b",
    ),
    (
        "categorical not in choices",
        lambda p: p.observe(dict(GOOD, base="TEA"), {"yield": 1.0}),
        OutOfBoundsError,
        "TEA",
    ),
    (
        "duplicate observation",
        lambda p: p.observe(p.history[0]["id"], {"yield": 2.0}),
        DuplicateObservationError,
        "already closed",
    ),
    ("reject unknown", lambda p: p.reject("nope"), UnknownSuggestionError, "nope"),
    ("fail unknown", lambda p: p.fail("nope", reason="x"), UnknownSuggestionError, "nope"),
    (
        "reject observed",
        lambda p: p.reject(p.history[0]["id"]),
        DuplicateObservationError,
        "accept",
    ),
]


@pytest.mark.parametrize(("label", "call", "error", "match"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_raises_and_leaves_state_unchanged(
    planner: Planner, label: str, call: Callable[[Planner], object], error: type, match: str
) -> None:
    history, table = planner.history, planner.observations
    pending = [s.id for s in planner.pending]
    with pytest.raises(error, match=match) as info:
        call(planner)
    assert isinstance(info.value, PlannerError)
    assert isinstance(info.value, ValueError | TypeError)
    assert planner.history == history
    assert planner.observations.equals(table)
    assert [s.id for s in planner.pending] == pending


def test_after_errors_the_planner_still_works(planner: Planner) -> None:
    with pytest.raises(InvalidOutcomeError):
        planner.observe(planner.pending[0], {"yield": math.nan})
    planner.observe(planner.pending[0], {"yield": 2.0})
    assert planner.best()["outcomes"] == {"yield": 2.0}

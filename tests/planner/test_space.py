from __future__ import annotations

import pytest
import torch

from smartlab_kernel.planner import (
    Categorical,
    ConstraintViolationError,
    Integer,
    InvalidConfigError,
    Real,
    SumConstraint,
    UnknownParameterError,
)
from smartlab_kernel.planner.space import SearchSpace


def mixed_space() -> SearchSpace:
    return SearchSpace(
        [Real("t", 20, 90), Integer("rpm", 100, 1000), Categorical("base", ["DBU", "MTBD", "TEA"])]
    )


def test_encode_decode_round_trip() -> None:
    space = mixed_space()
    assert space.dim == 5
    row = {"t": 42.5, "rpm": 300, "base": "MTBD"}
    X = space.encode([row])
    assert X.tolist() == [[42.5, 300.0, 0.0, 1.0, 0.0]]
    assert space.decode(X) == [row]
    assert space.bounds.tolist() == [[20, 100, 0, 0, 0], [90, 1000, 1, 1, 1]]


def test_decode_rounds_and_clips() -> None:
    space = mixed_space()
    [row] = space.decode(torch.tensor([[95.0, 299.6, 0.2, 0.1, 0.7]], dtype=torch.float64))
    assert row == {"t": 90.0, "rpm": 300, "base": "TEA"}
    assert isinstance(row["rpm"], int)


def test_from_unit_is_legal() -> None:
    space = mixed_space()
    rows = space.from_unit(torch.tensor([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [0.5, 0.5, 0.5]]))
    assert rows[0] == {"t": 20.0, "rpm": 100, "base": "DBU"}
    assert rows[1] == {"t": 90.0, "rpm": 1000, "base": "TEA"}
    assert all(space.validate(r) == r for r in rows)


def test_validate_names_and_constraints() -> None:
    space = SearchSpace([Real("a", 0, 1), Real("b", 0, 1)], [SumConstraint(["a", "b"], 1.0)])
    assert space.validate({"a": 0.25, "b": 0.75}) == {"a": 0.25, "b": 0.75}
    with pytest.raises(UnknownParameterError, match=r"unknown parameters \['c'\]"):
        space.validate({"a": 0.5, "b": 0.5, "c": 1})
    with pytest.raises(UnknownParameterError, match=r"missing parameters \['b'\]"):
        space.validate({"a": 0.5})
    with pytest.raises(ConstraintViolationError, match=r"1\.1"):
        space.validate({"a": 0.5, "b": 0.6})
    inequality, equality = space.botorch_constraints()
    assert inequality == [] and equality[0][2] == 1.0


def test_constraints_only_on_reals() -> None:
    with pytest.raises(InvalidConfigError, match="must be a Real"):
        SearchSpace([Real("a", 0, 1), Integer("b", 0, 3)], [SumConstraint(["a", "b"], 1.0)])


def test_grid_of_discrete_space() -> None:
    space = SearchSpace([Integer("i", 0, 2), Categorical("c", ["x", "y"])])
    assert space.grid_size() == 6
    assert len({tuple(r.values()) for r in space.grid()}) == 6
    assert mixed_space().grid_size() == float("inf")

from __future__ import annotations

import pytest
import torch

from smartlab_kernel.planner import InvalidConfigError, LinearConstraint, Real, SumConstraint
from smartlab_kernel.planner.repair import repair_constraints
from smartlab_kernel.planner.space import SearchSpace


def test_linear_constraint_violation() -> None:
    c = LinearConstraint({"a": 1.0, "b": 2.0}, upper=3.0)
    assert c.violation({"a": 1.0, "b": 1.0}) == 0.0
    assert c.violation({"a": 2.0, "b": 1.0}) == pytest.approx(1.0)
    assert c.describe() == "1*a + 2*b <= 3"
    assert not c.is_equality


def test_sum_constraint_is_equality() -> None:
    c = SumConstraint(["a", "b", "c"], 1.0)
    assert c.is_equality and c.names == ("a", "b", "c")
    assert c.violation({"a": 0.2, "b": 0.3, "c": 0.6}) == pytest.approx(0.1)


@pytest.mark.parametrize(
    "make",
    [
        lambda: SumConstraint(["a"], 1.0),
        lambda: SumConstraint("ab", 1.0),
        lambda: LinearConstraint({"a": 1.0}),
        lambda: LinearConstraint({"a": 1.0}, lower=2, upper=1),
        lambda: LinearConstraint({}, upper=1),
    ],
)
def test_bad_constraints(make) -> None:
    with pytest.raises(InvalidConfigError):
        make()


def test_repair_moves_points_onto_simplex_within_bounds() -> None:
    space = SearchSpace(
        [Real("a", 0, 1), Real("b", 0, 1), Real("c", 0, 0.3)], [SumConstraint(["a", "b", "c"])]
    )
    X = torch.tensor([[0.5, 0.5, 0.3], [0.1, 0.1, 0.1], [0.0, 0.0, 0.0]], dtype=torch.float64)
    fixed = repair_constraints(space, X)
    assert torch.allclose(fixed.sum(-1), torch.ones(3, dtype=torch.float64), atol=1e-9)
    assert (fixed >= 0).all() and (fixed[:, 2] <= 0.3 + 1e-12).all()

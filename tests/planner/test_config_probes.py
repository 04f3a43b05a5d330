"""Bad configuration found by probing from outside: refused at once with a clear error.

Each of these used to pass construction and fail later with another
library's error (botorch's ``InfeasibilityError``, scipy's ``ValueError``, a
``TypeError``), or to try to allocate tens of gigabytes.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from smartlab_kernel.planner import (
    InvalidConfigError,
    LinearConstraint,
    Objective,
    Planner,
    Real,
    SumConstraint,
)
from smartlab_kernel.planner.planner import MAX_BATCH

REALS = [Real("a", 0, 1), Real("b", 0, 1)]


def test_a_small_pool_gives_fewer_suggestions_than_asked_from_the_start() -> None:
    pool = pd.DataFrame({"a": [0.1, 0.2, 0.3], "b": [0.5, 0.6, 0.7]})
    planner = Planner(REALS, [Objective("y")], candidates=pool, seed=0)
    suggestions = planner.suggest(5)
    assert sorted(s.params["a"] for s in suggestions) == [0.1, 0.2, 0.3]
    assert planner.suggest(1) == []


def test_a_small_pool_with_one_observation_gives_what_is_left() -> None:
    pool = pd.DataFrame({"a": [0.1, 0.2, 0.3], "b": [0.5, 0.6, 0.7]})
    planner = Planner(REALS, [Objective("y")], candidates=pool, seed=0)
    first = planner.suggest(1)[0]
    planner.observe(first, {"y": 1.0})
    assert len(planner.suggest(4)) == 2


@pytest.mark.parametrize("n", [MAX_BATCH + 1, 10_000])
def test_a_batch_too_large_to_optimise_is_refused_before_any_work(n: int) -> None:
    planner = Planner(REALS, [Objective("y")], seed=0)
    with pytest.raises(InvalidConfigError, match=rf"from 1 to {MAX_BATCH}.*got {n}"):
        planner.suggest(n)


def test_the_largest_batch_is_allowed() -> None:
    assert len(Planner(REALS, [Objective("y")], seed=0).suggest(MAX_BATCH)) == MAX_BATCH


def test_an_infeasible_sum_constraint_is_refused_at_construction() -> None:
    with pytest.raises(InvalidConfigError, match=r"1\*a \+ 1\*b = 5.*a in \[0, 1\]"):
        Planner(REALS, [Objective("y")], constraints=[SumConstraint(["a", "b"], 5.0)])


def test_an_infeasible_inequality_is_refused_at_construction() -> None:
    with pytest.raises(InvalidConfigError, match="no parameter values meet every constraint"):
        Planner(
            REALS,
            [Objective("y")],
            constraints=[LinearConstraint({"a": 1, "b": 1}, lower=1.5), SumConstraint(["a", "b"])],
        )


def test_a_feasible_pair_of_constraints_is_accepted() -> None:
    planner = Planner(
        REALS,
        [Objective("y")],
        constraints=[LinearConstraint({"a": 1, "b": -1}, lower=0.2), SumConstraint(["a", "b"])],
        seed=0,
    )
    for s in planner.suggest(3):
        assert math.isclose(s.params["a"] + s.params["b"], 1.0, abs_tol=1e-6)
        assert s.params["a"] - s.params["b"] >= 0.2 - 1e-6


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "2", None])
def test_a_coefficient_that_is_not_a_finite_number_is_refused(bad: object) -> None:
    with pytest.raises(InvalidConfigError, match=r"coefficient of 'a' must be a finite number"):
        LinearConstraint({"a": bad, "b": 1.0}, upper=1.0)  # type: ignore[dict-item]


@pytest.mark.parametrize("bad", [float("nan"), "1"])
def test_a_sum_total_that_is_not_a_finite_number_is_refused(bad: object) -> None:
    with pytest.raises(InvalidConfigError, match="total must be a finite number"):
        SumConstraint(["a", "b"], bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["1", True, float("nan"), [1.0]])
def test_an_objective_threshold_that_is_not_a_number_is_a_config_error(bad: object) -> None:
    with pytest.raises(InvalidConfigError, match=r"threshold must be a finite number or None"):
        Objective("y", threshold=bad)  # type: ignore[arg-type]

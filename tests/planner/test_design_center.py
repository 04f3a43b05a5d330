"""The initial design starts at the centre of a continuous space (as Ax does)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from smartlab_kernel.planner import (
    Categorical,
    Integer,
    InvalidConfigError,
    Objective,
    Planner,
    Real,
    SumConstraint,
)
from smartlab_kernel.planner.design import center_point, initial_design
from smartlab_kernel.planner.engine import settings_for
from smartlab_kernel.planner.space import SearchSpace

OBJECTIVE = [Objective("f", "maximize")]


def test_a_continuous_box_starts_at_its_centre_then_follows_sobol() -> None:
    params = [Real("t", 20, 90), Integer("rpm", 100, 1000), Real("c", -1, 1)]
    planner = Planner(params, OBJECTIVE, seed=3, initial_design=4)
    assert planner.design_center is True
    first, *rest = planner.suggest(4)
    assert first.params == {"t": 55.0, "rpm": 550, "c": 0.0}
    assert first.reason.startswith("Centre of the space")
    # the other design points are the Sobol sequence of the same seed, in order
    sobol = initial_design(planner.space, 3, 0, 3)
    assert [s.params for s in rest] == sobol
    assert all(s.reason.startswith("Sobol initial design") for s in rest)


def test_batch_boundaries_do_not_change_the_design() -> None:
    params = [Real("x", 0, 1), Real("y", 0, 4)]
    whole = Planner(params, OBJECTIVE, seed=8, initial_design=5).suggest(5)
    split = Planner(params, OBJECTIVE, seed=8, initial_design=5)
    pieces = split.suggest(1) + split.suggest(3) + split.suggest(1)
    assert [s.params for s in pieces] == [s.params for s in whole]


def test_under_a_mixture_constraint_the_centre_is_the_feasible_centroid() -> None:
    params = [Real("a", 0, 1), Real("b", 0, 1), Real("c", 0, 1)]
    planner = Planner(params, OBJECTIVE, constraints=[SumConstraint(["a", "b", "c"], 1.0)])
    (first,) = planner.suggest(1)
    values = np.array([first.params[n] for n in "abc"])
    assert values.sum() == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_allclose(values, [1 / 3] * 3, atol=0.05)  # the simplex's centroid


def test_pools_and_categorical_spaces_keep_the_sobol_design() -> None:
    rng = np.random.default_rng(0)
    pool = pd.DataFrame({"x": rng.uniform(0, 1, 30), "y": rng.uniform(0, 1, 30)})
    reals = [Real("x", 0, 1), Real("y", 0, 1)]
    assert Planner(reals, OBJECTIVE, candidates=pool).design_center is False
    mixed = [Real("x", 0, 1), Categorical("s", ["a", "b"])]
    assert Planner(mixed, OBJECTIVE).design_center is False
    assert Planner(reals, OBJECTIVE, design_center=False).suggest(1)[0].params != {
        "x": 0.5,
        "y": 0.5,
    }


def test_a_centre_needs_numeric_parameters_and_a_bool() -> None:
    mixed = [Real("x", 0, 1), Categorical("solvent", ["water", "ethanol"])]
    with pytest.raises(InvalidConfigError, match=r"categorical: \['solvent'\]"):
        Planner(mixed, OBJECTIVE, design_center=True)
    with pytest.raises(InvalidConfigError, match="design_center must be a bool or None, got 'yes'"):
        Planner([Real("x", 0, 1)], OBJECTIVE, design_center="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="categorical"):
        center_point(SearchSpace(mixed))


def test_the_choice_is_recorded_and_old_configs_restore_without_it() -> None:
    planner = Planner([Real("x", 0, 1), Real("y", 0, 1)], OBJECTIVE, seed=2, initial_design=3)
    for s in planner.suggest(3):
        planner.observe(s, {"f": float(s.params["x"]) * float(s.params["y"])})
    config = planner.to_config()
    assert config["design_center"] is True
    again = Planner.restore(config, planner.history)
    assert again.design_center is True
    assert [s.params for s in again.suggest(2)] == [s.params for s in planner.suggest(2)]
    old = {k: v for k, v in config.items() if k != "design_center"}  # written before the centre
    assert Planner.restore(old, planner.history).design_center is False


def test_single_points_over_numeric_spaces_get_axs_search_effort() -> None:
    one = settings_for(20, 1)
    assert (one.mc_samples, one.num_restarts, one.raw_samples) == (512, 20, 1024)
    light = settings_for(20, 1, light=True)  # pools, or every category combination
    assert light.mc_samples == 128 and light.num_restarts < 20 and light.raw_samples < 1024
    assert settings_for(100, 1).num_restarts < 20  # large models stay fast


def test_the_engine_builds_the_acquisition_with_those_samples(
    acquisition_samples: list[int],
) -> None:
    reals = [Real("x", 0, 1), Real("y", 0, 1)]
    rng = np.random.default_rng(1)
    pool = pd.DataFrame({"x": rng.uniform(0, 1, 30), "y": rng.uniform(0, 1, 30)})
    for planner in (
        Planner(reals, OBJECTIVE, seed=1, initial_design=3),
        Planner(reals, OBJECTIVE, candidates=pool, seed=1, initial_design=3),
    ):
        for s in planner.suggest(3):
            planner.observe(s, {"f": float(s.params["x"]) - float(s.params["y"])})
        planner.suggest(1)
    assert acquisition_samples == [512, 128]  # continuous box, then the pool

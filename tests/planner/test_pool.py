from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from smartlab_kernel.planner import (
    Categorical,
    InvalidConfigError,
    Objective,
    Planner,
    Real,
    Suggestion,
)
from smartlab_kernel.planner.design import POOL_DESIGN
from smartlab_kernel.planner.pool import validate_candidates
from smartlab_kernel.planner.space import SearchSpace


def pool_planner(rows: int = 40, seed: int = 0) -> tuple[Planner, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    pool = pd.DataFrame(
        {
            "x": rng.uniform(0, 1, rows).round(4),
            "cat": rng.choice(["a", "b"], rows),
            "extra": np.arange(rows),
        }
    )
    planner = Planner(
        [Real("x", 0, 1), Categorical("cat", ("a", "b"))],
        [Objective("y")],
        candidates=pool,
        seed=seed,
        initial_design=4,
    )
    return planner, pool


def test_pool_mode_only_suggests_unused_pool_rows() -> None:
    planner, pool = pool_planner()
    allowed = {(round(x, 4), c) for x, c in zip(pool["x"], pool["cat"], strict=True)}
    seen: list[tuple[float, str]] = []
    for _ in range(6):
        batch = planner.suggest(3)
        for s in batch:
            x, cat = float(s.params["x"]), str(s.params["cat"])
            seen.append((x, cat))
            planner.observe(s, {"y": x * (2 if cat == "b" else 1)})
    assert set(seen) <= allowed
    assert len(set(seen)) == len(seen) == 18
    assert [r for r in planner.history if r["event"] == "suggest"][-1]["model"][
        "kind"
    ] == "SingleTaskGP"


def test_pool_excludes_pending_rejected_and_manual_rows_and_runs_dry() -> None:
    planner, pool = pool_planner(rows=8)
    first = planner.suggest(2)
    planner.reject(first[0])
    planner.observe(dict(x=float(pool["x"][0]), cat=str(pool["cat"][0])), {"y": 0.0})
    rest = planner.suggest(10)
    used = {(s.params["x"], s.params["cat"]) for s in first}
    used.add((float(pool["x"][0]), str(pool["cat"][0])))
    assert not used & {(s.params["x"], s.params["cat"]) for s in rest}
    assert len(used) + len(rest) == 8  # every row once (the manual row may be a suggested one)
    assert planner.suggest(1) == []


def test_pool_rows_are_validated() -> None:
    space = SearchSpace([Real("x", 0, 1)])
    with pytest.raises(InvalidConfigError, match="row 1"):
        validate_candidates(space, pd.DataFrame({"x": [0.5, 2.0]}))
    with pytest.raises(InvalidConfigError, match=r"missing \['x'\]"):
        validate_candidates(space, pd.DataFrame({"z": [0.5]}))
    assert validate_candidates(space, pd.DataFrame({"x": [0.5, 0.5]})) == [{"x": 0.5}]


def test_pool_design_sample_draws_unused_rows_reproducibly_and_is_recorded() -> None:
    rng = np.random.default_rng(7)
    pool = pd.DataFrame({"x": rng.uniform(0, 1, 30).round(4), "cat": rng.choice(["a", "b"], 30)})

    def design(seed: int) -> list[tuple[float, str]]:
        planner = Planner(
            [Real("x", 0, 1), Categorical("cat", ("a", "b"))],
            [Objective("y")],
            candidates=pool,
            seed=seed,
            initial_design=4,
            pool_design="sample",
        )
        rows = [(float(s.params["x"]), str(s.params["cat"])) for s in planner.suggest(4)]
        assert all(s.startswith("Random candidate") for s in [p.reason for p in planner.pending])
        assert planner.to_config()["pool_design"] == "sample"
        return rows

    first = design(0)
    assert len(set(first)) == 4
    assert set(first) <= set(zip(pool["x"].astype(float), pool["cat"], strict=True))
    assert design(0) == first  # same seed, same rows
    assert design(1) != first


def test_pool_design_must_be_one_of_the_known_kinds() -> None:
    with pytest.raises(
        InvalidConfigError, match=r"pool_design must be one of \('sobol', 'sample', 'maxmin'\)"
    ):
        Planner([Real("x", 0, 1)], [Objective("y")], pool_design="kmeans")  # type: ignore[arg-type]


def test_a_sampled_pool_starts_from_two_rows_other_designs_keep_their_size() -> None:
    pool = pd.DataFrame({"x": np.linspace(0, 1, 25), "z": np.linspace(1, 0, 25)})
    params = [Real("x", 0, 1), Real("z", 0, 1)]
    sampled = Planner(params, [Objective("y")], candidates=pool)
    assert sampled.initial_design == POOL_DESIGN == 2
    snapped = Planner(params, [Objective("y")], candidates=pool, pool_design="sobol")
    assert snapped.initial_design == 5
    assert Planner(params, [Objective("y")]).initial_design == 5
    assert Planner(params, [Objective("y")], candidates=pool, initial_design=6).initial_design == 6
    # the recorded size is restored, whatever the default is now
    config = {**sampled.to_config(), "initial_design": 5}
    assert Planner.from_config(config).initial_design == 5
    first = sampled.suggest(3)
    assert [s.predicted is None for s in first] == [True, True, True]  # nothing observed yet
    for s in first[:2]:
        sampled.observe(s, {"y": float(s.params["x"])})
    sampled.reject(first[2])
    [model_pick] = sampled.suggest(1)
    assert model_pick.predicted is not None  # two rows, then the model


def test_a_one_row_design_lets_the_model_choose_the_second_experiment() -> None:
    # BayBE's start: one random row, then the model (fitted to one observation)
    pool = pd.DataFrame({"x": np.linspace(0, 1, 25), "z": np.linspace(1, 0, 25)})
    planner = Planner(
        [Real("x", 0, 1), Real("z", 0, 1)], [Objective("y")], candidates=pool, initial_design=1
    )
    [first] = planner.suggest(1)
    assert first.predicted is None
    planner.observe(first, {"y": float(first.params["x"])})
    [second] = planner.suggest(1)
    assert second.predicted is not None
    assert second.model_state["n_observations"] == 1
    assert second.params != first.params


def test_pool_design_maxmin_starts_random_then_takes_the_farthest_rows() -> None:
    rng = np.random.default_rng(3)
    pool = pd.DataFrame({"x": rng.uniform(0, 1, 60).round(4), "z": rng.uniform(0, 1, 60).round(4)})
    params = [Real("x", 0, 1), Real("z", 0, 1)]
    unit = pool[["x", "z"]].to_numpy()

    def rows(suggestions: list[Suggestion]) -> list[tuple[float, float]]:
        return [(float(s.params["x"]), float(s.params["z"])) for s in suggestions]

    planner = Planner(params, [Objective("y")], candidates=pool, seed=4, pool_design="maxmin")
    assert planner.initial_design == POOL_DESIGN  # two rows, as a sampled pool
    assert planner.to_config()["pool_design"] == "maxmin"
    [first] = planner.suggest(1)
    sampled = Planner(params, [Objective("y")], candidates=pool, seed=4, pool_design="sample")
    assert rows([first]) == rows(sampled.suggest(1))  # the same random first row
    assert first.reason.startswith("Random candidate")
    planner.observe(first, {"y": 1.0})
    [second] = planner.suggest(1)  # still the design: farthest from the first row
    assert second.predicted is None
    assert second.reason.startswith("Farthest candidate")
    distance = np.linalg.norm(unit - np.array(rows([first])[0]), axis=1)
    assert np.isclose(
        np.linalg.norm(np.subtract(rows([second])[0], rows([first])[0])), distance.max()
    )
    planner.observe(second, {"y": 0.0})
    [third] = planner.suggest(1)
    assert third.predicted is not None  # then the model

    # greedy max-min over three rows in one batch, reproducibly
    def batch(seed: int) -> list[tuple[float, float]]:
        p = Planner(
            params,
            [Objective("y")],
            candidates=pool,
            seed=seed,
            pool_design="maxmin",
            initial_design=3,
        )
        return rows(p.suggest(3))

    a, b, c = batch(4)
    assert (a, b) == tuple(rows([first, second]))
    gap = np.minimum(np.linalg.norm(unit - a, axis=1), np.linalg.norm(unit - b, axis=1))
    assert np.isclose(
        min(np.linalg.norm(np.subtract(c, a)), np.linalg.norm(np.subtract(c, b))), gap.max()
    )
    assert batch(4) == [a, b, c]


def test_pool_design_maxmin_breaks_ties_between_one_hot_rows_at_random_and_resumes() -> None:
    pool = pd.DataFrame(
        [(a, b) for a in ["p", "q", "r"] for b in ["s", "t", "u"]], columns=["c1", "c2"]
    )
    params = [Categorical("c1", ("p", "q", "r")), Categorical("c2", ("s", "t", "u"))]
    seconds = set()
    for seed in range(6):
        planner = Planner(
            params, [Objective("y")], candidates=pool, seed=seed, pool_design="maxmin"
        )
        first, second = planner.suggest(2)
        assert first.params["c1"] != second.params["c1"]  # differs in every one-hot column
        assert first.params["c2"] != second.params["c2"]
        seconds.add((second.params["c1"], second.params["c2"]))
        planner.observe(first, {"y": 1.0})
        restored = Planner.restore(planner.to_config(), planner.history)
        assert restored.pool_design == "maxmin"
        assert [s.params for s in restored.pending] == [second.params]
    assert len(seconds) > 1  # ties are drawn at random, not the pool's first row

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from smartlab_kernel.planner import Categorical, InvalidConfigError, Objective, Planner, Real
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
        [Real("x", 0, 1), Categorical("cat", ["a", "b"])],
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
            seen.append((s.params["x"], s.params["cat"]))
            planner.observe(s, {"y": s.params["x"] * (2 if s.params["cat"] == "b" else 1)})
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
            [Real("x", 0, 1), Categorical("cat", ["a", "b"])],
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
        InvalidConfigError, match=r"pool_design must be one of \('sobol', 'sample'\)"
    ):
        Planner([Real("x", 0, 1)], [Objective("y")], pool_design="kmeans")  # type: ignore[arg-type]

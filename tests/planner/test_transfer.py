"""Transfer from earlier campaigns (``Planner(history=[...])``) through a multi-task GP."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from smartlab_kernel.planner import (
    Categorical,
    InvalidConfigError,
    Objective,
    Planner,
    Real,
)
from smartlab_kernel.planner.transfer import TRANSFER_DESIGN

SPACE = [Real("x", 0, 1), Categorical("base", ["A", "B", "C"])]


def truth(x: float, base: str, shift: float = 0.0, scale: float = 1.0) -> float:
    bonus = {"A": 0.0, "B": 0.5, "C": 0.2}.get(base, 0.1)
    return scale * (-((x - 0.73) ** 2) * 4 + bonus) + shift


def earlier(seed: int, shift: float, scale: float, n: int = 30) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = [
        {"x": float(x), "base": str(b)}
        for x, b in zip(rng.uniform(0, 1, n), rng.choice(["A", "B", "C"], n), strict=True)
    ]
    return pd.DataFrame([{**r, "y": truth(r["x"], r["base"], shift, scale)} for r in rows])


def test_with_history_the_model_takes_over_after_two_points_and_knows_the_optimum() -> None:
    history = [earlier(1, shift=10.0, scale=3.0), earlier(2, shift=-5.0, scale=0.5)]
    planner = Planner(SPACE, [Objective("y")], seed=0, history=history)
    assert planner.initial_design == TRANSFER_DESIGN
    for _ in range(TRANSFER_DESIGN):
        [s] = planner.suggest(1)
        assert s.predicted is None  # design point
        planner.observe(s, {"y": truth(s.params["x"], s.params["base"])})
    [s] = planner.suggest(1)
    assert s.predicted is not None and s.model_state["kind"] == "MultiTaskGP"
    assert s.model_state["hyperparameters"]["tasks"] == 3
    assert len(s.model_state["hyperparameters"]["task_correlation"]) == 2
    # the earlier campaigns put the optimum near x = 0.73 with base B
    assert s.params["base"] == "B" and abs(s.params["x"] - 0.73) < 0.15
    mean, _ = planner.predict({"x": 0.73, "base": "B"})["y"]
    assert abs(mean - truth(0.73, "B")) < 0.5  # in this campaign's units, not the others'


def test_history_rows_are_kept_in_the_config_and_a_resumed_planner_suggests_the_same() -> None:
    history = [earlier(3, shift=1.0, scale=2.0, n=12)]
    planner = Planner(SPACE, [Objective("y")], seed=4, history=history)
    for _ in range(3):
        [s] = planner.suggest(1)
        planner.observe(s, {"y": truth(s.params["x"], s.params["base"])})
    config = json.loads(json.dumps(planner.to_config()))
    assert config["history"][0]["n_rows"] == 12 and len(config["history"][0]["rows"]) == 12
    assert len(config["history"][0]["sha256"]) == 64
    records = planner.history
    again = Planner.restore(config, records)
    assert again.suggest(1)[0].params == planner.suggest(1)[0].params


def test_levels_this_space_lacks_and_bad_rows_are_left_out_and_counted() -> None:
    frame = pd.DataFrame(
        [
            {"x": 0.2, "base": "D", "y": 1.0},  # another level: kept as "other" (one-hot)
            {"x": 2.0, "base": "A", "y": 1.0},  # outside x's bounds
            {"x": 0.3, "base": "A", "y": float("nan")},
            {"x": 0.4, "base": "B", "y": 2.0},
        ]
    )
    planner = Planner(SPACE, [Objective("y")], history=[frame])
    assert planner.transfer is not None
    [summary] = planner.transfer.describe()
    assert summary["n_rows"] == 2 and summary["n_dropped"] == 2
    assert "outside its bounds" in summary["first_reason"]


@pytest.mark.parametrize(
    ("history", "objectives", "message"),
    [
        (pd.DataFrame({"x": [0.1]}), [Objective("y")], "list of DataFrames"),
        ([{"x": 0.1}], [Objective("y")], r"history\[0\] must be a DataFrame"),
        (
            [pd.DataFrame({"x": [0.1], "y": [1.0]})],
            [Objective("y")],
            r"lacks the columns \['base'\]",
        ),
        ([earlier(0, 0, 1)], [Objective("y"), Objective("z")], "one objective"),
        (
            [pd.DataFrame({"x": [5.0], "base": ["A"], "y": [1.0]})],
            [Objective("y")],
            "no usable row",
        ),
    ],
)
def test_bad_history_is_refused_at_construction(
    history: object, objectives: list, message: str
) -> None:
    with pytest.raises(InvalidConfigError, match=message):
        Planner(SPACE, objectives, history=history)  # type: ignore[arg-type]


def _best(frame: pd.DataFrame) -> dict[str, object]:
    row = frame.loc[frame["y"].idxmax()]
    return {"x": float(row["x"]), "base": str(row["base"])}


def test_a_campaign_with_history_starts_at_each_earlier_campaigns_best_row() -> None:
    history = [earlier(1, shift=10.0, scale=3.0), earlier(2, shift=-5.0, scale=0.5)]
    planner = Planner(SPACE, [Objective("y")], seed=0, history=history)
    assert planner.transfer_start == "best"
    first, second = planner.suggest(2)
    assert first.params == pytest.approx(_best(history[0]))
    assert second.params == pytest.approx(_best(history[1]))
    assert first.reason.startswith("Best row of an earlier campaign, initial design 1/2")
    assert first.predicted is None and first.model_state["kind"] == "initial_design"


def test_in_pool_mode_the_start_is_the_unused_candidate_nearest_the_best_row() -> None:
    history = [earlier(1, shift=0.0, scale=1.0)]
    best = _best(history[0])
    pool = pd.DataFrame(
        [
            {"x": round(best["x"] + 0.01, 3), "base": best["base"]},  # nearest to the best
            {"x": 0.05, "base": "A"},
            {"x": 0.5, "base": "C"},
            {"x": 0.95, "base": "B"},
        ]
    )
    planner = Planner(SPACE, [Objective("y")], candidates=pool, seed=3, history=history)
    first, second = planner.suggest(2)
    assert first.params == pool.iloc[0].to_dict()
    assert second.params != first.params  # the design goes on with another row
    assert second.reason.startswith("Random candidate, initial design 2/2")


def test_a_best_row_this_space_cannot_take_is_skipped() -> None:
    other_level = pd.DataFrame(
        [{"x": 0.7, "base": "D", "y": 9.0}, {"x": 0.2, "base": "A", "y": 1.0}]
    )
    planner = Planner(SPACE, [Objective("y")], seed=0, history=[other_level])
    [s] = planner.suggest(1)
    assert s.params["base"] != "D"  # "D" is not a level here: the usual design instead
    assert "earlier campaign" not in s.reason


def test_transfer_start_design_keeps_the_usual_design_and_is_recorded() -> None:
    history = [earlier(1, shift=10.0, scale=3.0)]
    usual = Planner(SPACE, [Objective("y")], seed=0, history=history, transfer_start="design")
    [s] = usual.suggest(1)
    assert s.params != pytest.approx(_best(history[0]))
    assert "earlier campaign" not in s.reason
    config = json.loads(json.dumps(usual.to_config()))
    assert config["transfer_start"] == "design"
    assert Planner.restore(config, usual.history).transfer_start == "design"
    # written before the setting was recorded: the usual design
    best = Planner(SPACE, [Objective("y")], seed=0, history=history)
    old = {k: v for k, v in best.to_config().items() if k != "transfer_start"}
    assert Planner.restore(old, []).transfer_start == "design"
    with pytest.raises(InvalidConfigError, match="transfer_start must be one of"):
        Planner(SPACE, [Objective("y")], transfer_start="first")  # type: ignore[arg-type]

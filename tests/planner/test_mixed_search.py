"""Mixed spaces (categoricals and reals): the joint batch search and the ones it replaced."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from botorch.acquisition import AcquisitionFunction

import smartlab_kernel.planner.mixed as mixed
from smartlab_kernel.planner import Categorical, InvalidConfigError, Objective, Planner, Real
from smartlab_kernel.planner.settings import EARLY_STOP_FTOL

SPACE = [
    Categorical("solvent", ("water", "ethanol", "toluene")),
    Categorical("catalyst", ("a", "b", "c", "d", "e")),
    Real("t", 20.0, 80.0),
    Real("c", 0.0, 1.0),
]


def _response(params: dict[str, object]) -> float:
    bonus = {"water": 0.0, "ethanol": 1.0, "toluene": 0.3}[str(params["solvent"])]
    bonus += {"a": 0.0, "b": 0.2, "c": 0.9, "d": 0.1, "e": 0.4}[str(params["catalyst"])]
    t, c = float(params["t"]), float(params["c"])  # type: ignore[arg-type]
    return bonus - ((t - 55.0) / 30.0) ** 2 - (c - 0.3) ** 2


def _campaign(mixed_search: str, steps: int = 3) -> Planner:
    planner = Planner(SPACE, [Objective("y")], seed=5, mixed_search=mixed_search)  # type: ignore[arg-type]
    while len(planner.history) < 10:
        for s in planner.suggest(2):
            planner.observe(s, {"y": _response(s.params)})
    for _ in range(steps):
        for s in planner.suggest(1):
            planner.observe(s, {"y": _response(s.params)})
    return planner


@pytest.mark.parametrize(
    "mixed_search", ["joint", "batched_early_stop", "batched", "per_combination"]
)
def test_every_search_gives_legal_batches_that_model_improvement(mixed_search: str) -> None:
    planner = _campaign(mixed_search)
    batch = planner.suggest(3)
    assert len(batch) == 3
    for s in batch:
        assert s.params["solvent"] in ("water", "ethanol", "toluene")
        assert s.params["catalyst"] in tuple("abcde")
        assert 20.0 <= float(s.params["t"]) <= 80.0  # type: ignore[arg-type]
        assert 0.0 <= float(s.params["c"]) <= 1.0  # type: ignore[arg-type]
        assert s.model_state["mixed_search"] == mixed_search
    assert len({tuple(s.params.values()) for s in batch}) == 3


def test_the_joint_search_is_the_default_recorded_and_old_configs_keep_their_search() -> None:
    assert Planner(SPACE, [Objective("y")]).mixed_search == "joint"
    planner = _campaign("batched_early_stop", steps=1)
    config = planner.to_config()
    assert config["mixed_search"] == "batched_early_stop"
    again = Planner.restore(config, planner.history)
    assert again.mixed_search == "batched_early_stop"
    assert again.suggest(2)[0].params == planner.suggest(2)[0].params
    # saved while "batched" was the default: it resumes with that search
    assert Planner.restore(dict(config, mixed_search="batched"), planner.history).mixed_search == (
        "batched"
    )
    # written before the setting was recorded: the per-combination search
    old = {k: v for k, v in config.items() if k != "mixed_search"}
    assert Planner.restore(old, planner.history).mixed_search == "per_combination"


def test_the_early_stop_tells_lbfgsb_its_tolerance_and_finds_as_good_a_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[dict[str, Any]] = []
    original = mixed.gen_candidates_scipy

    def recording(*args: Any, **kwargs: Any) -> Any:
        seen.append(dict(kwargs["options"]))
        return original(*args, **kwargs)

    monkeypatch.setattr(mixed, "gen_candidates_scipy", recording)
    campaign = _campaign("batched", steps=0)
    values = {}
    for search in ("batched", "batched_early_stop"):
        # the same observations and seed, so the same model; only the search differs
        planner = Planner.restore(dict(campaign.to_config(), mixed_search=search), campaign.history)
        seen.clear()
        batch = planner.suggest(3)
        tolerances = {options.get("ftol") for options in seen}
        assert tolerances == ({EARLY_STOP_FTOL} if search == "batched_early_stop" else {None})
        values[search] = batch[0].model_state["acquisition_value"]
    assert values["batched_early_stop"] == pytest.approx(values["batched"], abs=0.05)


def test_an_unknown_mixed_search_is_refused() -> None:
    with pytest.raises(InvalidConfigError, match="mixed_search must be one of"):
        Planner(SPACE, [Objective("y")], mixed_search="greedy")  # type: ignore[arg-type]


def _recording(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, ...]]:
    """Record the shape of the starts of every L-BFGS-B run of the mixed search."""
    shapes: list[tuple[int, ...]] = []
    original = mixed.gen_candidates_scipy

    def recording(starts: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
        shapes.append(tuple(starts.shape))
        return original(starts, *args, **kwargs)

    monkeypatch.setattr(mixed, "gen_candidates_scipy", recording)
    return shapes


def test_the_joint_search_optimises_the_whole_batch_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    campaign = _campaign("batched_early_stop", steps=0)
    shapes = _recording(monkeypatch)
    values = {}
    for search in ("batched_early_stop", "joint"):
        # the same observations and seed, so the same model; only the search differs
        planner = Planner.restore(dict(campaign.to_config(), mixed_search=search), campaign.history)
        shapes.clear()
        batch = planner.suggest(3)
        values[search] = batch[0].model_state["acquisition_value"]
        if search == "joint":
            # a screen of every greedy start, then the best ones on: both runs of 3-point starts
            assert [s[1:] for s in shapes] == [(3, 2), (3, 2)]
            assert shapes[0][0] == mixed.JOINT_GREEDY_STARTS
        else:
            assert [s[1:] for s in shapes] == [(1, 2)] * 3  # one run per batch point
    # the joint search's batch is at least about as good (it is usually better)
    assert values["joint"] >= values["batched_early_stop"] - 0.05


def test_one_point_is_searched_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    campaign = _campaign("batched_early_stop", steps=0)
    picks = []
    for search in ("batched_early_stop", "joint"):
        planner = Planner.restore(dict(campaign.to_config(), mixed_search=search), campaign.history)
        picks.append(planner.suggest(1)[0].params)
    assert picks[0] == picks[1]


class _Additive(AcquisitionFunction):
    """A stand-in acquisition: the sum of each point's first coordinate."""

    def __init__(self) -> None:
        super().__init__(model=None)  # type: ignore[arg-type]
        self.X_pending = None

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return X[..., 0].sum(dim=-1)


def test_greedy_starts_add_the_best_candidate_not_yet_in_each_start() -> None:
    candidates = torch.tensor([[5.0], [4.0], [3.0], [2.0]], dtype=torch.float64)
    starts, values = mixed._greedy_starts(_Additive(), candidates, r=3, q=3)
    # start i opens with candidate i; each candidate at most once in a start
    assert starts.tolist() == [[0, 1, 2], [1, 0, 2], [2, 0, 1]]
    assert values.tolist() == [12.0, 12.0, 12.0]


def test_a_batch_larger_than_the_usual_candidates_gets_distinct_starting_points(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from smartlab_kernel.planner.settings import OptimizerSettings
    from smartlab_kernel.planner.space import SearchSpace

    space = SearchSpace([Categorical("c", ("a", "b")), Real("x", 0.0, 1.0)])
    seen: list[torch.Tensor] = []
    original = mixed._greedy_starts

    def recording(*args: Any, **kwargs: Any) -> Any:
        starts, values = original(*args, **kwargs)
        seen.append(starts)
        return starts, values

    monkeypatch.setattr(mixed, "_greedy_starts", recording)
    # two combinations x 32 random points would be 64 candidates for 70 points
    settings = OptimizerSettings(raw_samples=128, num_restarts=2, maxiter=5)
    X = mixed.optimize_mixed_joint(_Additive(), space, 70, settings, {})
    assert X.shape == (70, space.dim)
    [starts] = seen
    assert all(len(set(row.tolist())) == 70 for row in starts)

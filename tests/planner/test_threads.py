"""Suggestions from small models compute on one torch thread; the count is restored after."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import torch

from smartlab_kernel.planner import Objective, Planner, Real, engine, threads
from smartlab_kernel.planner.threads import ONE_THREAD_BELOW, threads_for, torch_threads

from .conftest import run_campaign


def test_threads_for_a_suggestion_follow_the_observations() -> None:
    assert threads_for(0) == 1
    assert threads_for(ONE_THREAD_BELOW - 1) == 1
    assert threads_for(ONE_THREAD_BELOW) == torch.get_num_threads() == 2


def test_the_count_is_lowered_for_the_block_and_restored_even_after_an_error() -> None:
    with torch_threads(1) as used:
        assert used == torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2
    with pytest.raises(RuntimeError, match="inside"), torch_threads(1):
        raise RuntimeError("inside")
    assert torch.get_num_threads() == 2
    with torch_threads(8) as used:  # never raised above what the process set
        assert used == torch.get_num_threads() == 2
    with pytest.raises(ValueError, match="threads must be at least 1, got 0"), torch_threads(0):
        pass


def _spy_threads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    seen: list[int] = []
    real_fit = engine.fit_outcome_model

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(torch.get_num_threads())
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(engine, "fit_outcome_model", spy)
    return seen


def _planner() -> Planner:
    return Planner([Real("x", 0.0, 1.0), Real("z", 0.0, 1.0)], [Objective("y")], seed=3)


def _y(params: dict[str, Any]) -> float:
    return -((params["x"] - 0.4) ** 2) - (params["z"] - 0.7) ** 2


def test_a_small_models_suggestion_runs_on_one_thread_and_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen = _spy_threads(monkeypatch)
    planner = _planner()
    run_campaign(planner, _y, budget=8)
    [suggestion] = planner.suggest(1)
    assert seen and set(seen) == {1}, "every fit below the threshold ran on one thread"
    assert suggestion.model_state["torch_threads"] == 1
    assert torch.get_num_threads() == 2, "the caller's count is back"


def test_a_large_models_suggestion_keeps_the_processs_threads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(threads, "ONE_THREAD_BELOW", 6)
    seen = _spy_threads(monkeypatch)
    planner = _planner()
    run_campaign(planner, _y, budget=8)
    [suggestion] = planner.suggest(1)
    assert seen[-1] == 2 and suggestion.model_state["torch_threads"] == 2
    assert 1 in seen, "below the threshold the same planner used one thread"


def test_a_suggestion_on_a_worker_thread_leaves_the_main_threads_count() -> None:
    planner = _planner()
    run_campaign(planner, _y, budget=6)
    inside: list[int] = []
    worker = threading.Thread(target=lambda: inside.append(len(planner.suggest(1))))
    worker.start()
    worker.join(60)
    assert inside == [1]
    assert torch.get_num_threads() == 2

"""Shared helpers for planner tests."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
import torch

from smartlab_kernel.planner import Objective, Planner, Real


@pytest.fixture(autouse=True)
def _two_threads() -> None:
    torch.set_num_threads(2)


@pytest.fixture
def acquisition_samples(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The quasi-MC sample counts the engine builds its acquisitions with, in order."""
    from smartlab_kernel.planner import engine

    used: list[int] = []
    real_build = engine.build_acquisition

    def spy(*args: Any, **kwargs: Any) -> Any:
        used.append(kwargs["mc_samples"])
        return real_build(*args, **kwargs)

    monkeypatch.setattr(engine, "build_acquisition", spy)
    return used


def run_campaign(
    planner: Planner, f: Callable[[dict], float], budget: int, batch: int = 1, name: str = "y"
) -> list[dict]:
    """Suggest/observe until ``budget`` experiments ran; returns the suggested params."""
    done: list[dict] = []
    while len(done) < budget:
        for s in planner.suggest(min(batch, budget - len(done))):
            planner.observe(s, {name: f(s.params)})
            done.append(s.params)
    return done


def one_d_planner(seed: int = 0) -> Planner:
    return Planner([Real("x", 0.0, 1.0)], [Objective("y", "maximize")], seed=seed, initial_design=4)


def one_d(params: dict) -> float:
    """Maximum 1.0 at x = 0.7 plus a smaller local maximum near x = 0.15."""
    x = params["x"]
    return math.exp(-((x - 0.7) ** 2) / 0.02) + 0.5 * math.exp(-((x - 0.15) ** 2) / 0.005)

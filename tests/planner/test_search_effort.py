"""The search effort is a recorded planner setting, so a resumed campaign searches as it did."""

from __future__ import annotations

import pytest

from smartlab_kernel.planner import InvalidConfigError, Objective, Planner, Real

OBJECTIVE = [Objective("f", "maximize")]
REALS = [Real("x", 0, 1), Real("y", 0, 1)]


def _observe_design(planner: Planner) -> None:
    for s in planner.suggest(3):
        x, y = float(s.params["x"]), float(s.params["y"])
        planner.observe(s, {"f": -((x - 0.3) ** 2) - (y - 0.7) ** 2})


def test_quick_keeps_the_lighter_search_and_thorough_is_the_default(
    acquisition_samples: list[int],
) -> None:
    default = Planner(REALS, OBJECTIVE, seed=1, initial_design=3)
    quick = Planner(REALS, OBJECTIVE, seed=1, initial_design=3, search_effort="quick")
    assert (default.search_effort, quick.search_effort) == ("thorough", "quick")
    for planner in (default, quick):
        _observe_design(planner)
        [suggestion] = planner.suggest(1)
        assert suggestion.model_state["search_effort"] == planner.search_effort
    assert acquisition_samples == [512, 128]


def test_the_effort_is_recorded_and_a_config_without_it_restores_the_quick_search() -> None:
    planner = Planner(REALS, OBJECTIVE, seed=4, initial_design=3, search_effort="quick")
    _observe_design(planner)
    config = planner.to_config()
    assert config["search_effort"] == "quick"
    # a campaign saved before the effort was recorded searched the quick way
    old = {k: v for k, v in config.items() if k != "search_effort"}
    again = Planner.restore(old, planner.history)
    assert again.search_effort == "quick"
    assert again.suggest(1)[0].params == planner.suggest(1)[0].params
    thorough = Planner.restore({**config, "search_effort": "thorough"}, planner.history)
    assert thorough.search_effort == "thorough"


@pytest.mark.parametrize("bad", ["fast", 2, None])
def test_an_unknown_effort_is_refused_naming_the_allowed_ones(bad: object) -> None:
    with pytest.raises(InvalidConfigError, match=r"one of \['thorough', 'quick'\], got"):
        Planner(REALS, OBJECTIVE, search_effort=bad)  # type: ignore[arg-type]
    config = Planner(REALS, OBJECTIVE).to_config()
    with pytest.raises(InvalidConfigError, match="search_effort must be one of"):
        Planner.restore({**config, "search_effort": bad}, [])

"""The search effort is a recorded planner setting, so a resumed campaign searches as it did."""

from __future__ import annotations

import pytest

from smartlab_kernel.planner import InvalidConfigError, Objective, Planner, Real
from smartlab_kernel.planner.engine import settings_for

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
    planners = [default] + [
        Planner(REALS, OBJECTIVE, seed=1, initial_design=3, search_effort=effort)
        for effort in ("thorough_128", "quick")
    ]
    assert [p.search_effort for p in planners] == ["thorough", "thorough_128", "quick"]
    for planner in planners:
        _observe_design(planner)
        [suggestion] = planner.suggest(1)
        assert suggestion.model_state["search_effort"] == planner.search_effort
    assert acquisition_samples == [512, 128, 128]


def test_each_effort_changes_only_single_points_from_small_continuous_models() -> None:
    def effort(*args: object, **kwargs: object) -> tuple[int, int, int, int]:
        s = settings_for(*args, **kwargs)  # type: ignore[arg-type]
        return (s.mc_samples, s.num_restarts, s.raw_samples, s.maxiter)

    assert effort(20, 1) == (512, 20, 1024, 200)
    assert effort(20, 1, effort="thorough_128") == (128, 20, 1024, 200)
    assert effort(20, 1, effort="quick") == (128, 12, 512, 100)
    for name in ("thorough", "thorough_128", "quick"):  # the same everywhere else
        assert effort(20, 1, light=True, effort=name) == (128, 12, 512, 100)
        assert effort(100, 1, effort=name) == effort(100, 1, light=True)
        assert effort(20, 4, effort=name) == effort(20, 4, light=True)


def test_the_effort_is_recorded_and_old_configs_restore_the_search_they_made() -> None:
    for effort, recorded in (
        ("thorough_128", {"search_effort"}),
        ("quick", {"search_effort", "design_center"}),
    ):
        planner = Planner(
            REALS,
            OBJECTIVE,
            seed=4,
            initial_design=3,
            search_effort=effort,
            design_center=effort != "quick",
        )
        _observe_design(planner)
        config = planner.to_config()
        assert config["search_effort"] == effort
        # written before the effort was recorded: with a centre choice the planner
        # searched with Ax's effort and 128 samples, before it the quick way
        old = {k: v for k, v in config.items() if k not in recorded}
        again = Planner.restore(old, planner.history)
        assert again.search_effort == effort
        assert again.suggest(1)[0].params == planner.suggest(1)[0].params
    thorough = Planner.restore({**config, "search_effort": "thorough"}, planner.history)
    assert thorough.search_effort == "thorough"


@pytest.mark.parametrize("bad", ["fast", 2, None])
def test_an_unknown_effort_is_refused_naming_the_allowed_ones(bad: object) -> None:
    with pytest.raises(
        InvalidConfigError, match=r"one of \['thorough', 'thorough_128', 'quick'\], got"
    ):
        Planner(REALS, OBJECTIVE, search_effort=bad)  # type: ignore[arg-type]
    config = Planner(REALS, OBJECTIVE).to_config()
    with pytest.raises(InvalidConfigError, match="search_effort must be one of"):
        Planner.restore({**config, "search_effort": bad}, [])

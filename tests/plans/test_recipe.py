"""Recipes: validation with clear errors, fractions, grids."""

from __future__ import annotations

import pytest

from smartlab_kernel.plans import Recipe, recipe_grid


def test_recipe_as_dict_round_trip() -> None:
    recipe = Recipe({"a": 3, "b": 2.0}, temperature_c=55, hold_s=900, stir_rpm=800, params={"x": 1})
    assert recipe.as_dict() == {
        "volumes_ml": {"a": 3.0, "b": 2.0},
        "temperature_c": 55.0,
        "hold_s": 900.0,
        "stir_rpm": 800.0,
        "params": {"x": 1},
    }
    assert Recipe(**{**recipe.as_dict()}) == recipe


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"volumes_ml": {}}, ValueError, "must map stock names to mL, got {}"),
        ({"volumes_ml": {"a": 0, "b": 0}}, ValueError, "dispenses nothing"),
        ({"volumes_ml": {"a": -1}}, ValueError, r"volume of 'a' -1 mL is outside \[0, 10000\] mL"),
        ({"volumes_ml": {"a": "1"}}, TypeError, "volume of 'a' must be a number in mL, got '1'"),
        (
            {"volumes_ml": {"a": 1}, "temperature_c": 400},
            ValueError,
            r"temperature_c 400 degC is outside \[15, 150\] degC",
        ),
        (
            {"volumes_ml": {"a": 1}, "hold_s": float("nan")},
            ValueError,
            r"hold_s nan s is outside",
        ),
        ({"volumes_ml": {"a": 1}, "stir_rpm": True}, TypeError, "stir_rpm must be a number"),
    ],
)
def test_bad_recipes_say_what_is_wrong(kwargs: dict, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        Recipe(**kwargs)


def test_from_fractions() -> None:
    recipe = Recipe.from_fractions({"a": 3, "b": 1}, total_ml=4.0, temperature_c=40)
    assert recipe.volumes_ml == pytest.approx({"a": 3.0, "b": 1.0})
    assert recipe.temperature_c == 40.0
    with pytest.raises(ValueError, match="fractions must add up to more than 0"):
        Recipe.from_fractions({"a": 0})


def test_grid_is_the_product_of_its_axes_with_params() -> None:
    base = Recipe({"a": 3, "b": 2}, temperature_c=50)
    grid = recipe_grid(base, temperature_c=[40, 60], a_ml=[1, 2, 4])
    assert len(grid) == 6
    assert [(r.temperature_c, r.volumes_ml["a"]) for r in grid] == [
        (40, 1),
        (40, 2),
        (40, 4),
        (60, 1),
        (60, 2),
        (60, 4),
    ]
    assert grid[4].params == {"temperature_c": 60, "a_ml": 2}
    assert all(r.volumes_ml["b"] == 2.0 and r.hold_s == base.hold_s for r in grid)


def test_grid_refuses_unknown_axes_and_bad_values() -> None:
    base = Recipe({"a": 3})
    with pytest.raises(ValueError, match=r"unknown grid axes \['pressure'\]; allowed: "):
        recipe_grid(base, pressure=[1, 2])
    with pytest.raises(ValueError, match="temperature_c 999 degC is outside"):
        recipe_grid(base, temperature_c=[50, 999])

"""Bluesky plans for the bench: prepare and measure recipes, scans over recipes."""

from .measure import Plan, measure_recipe, prepare_vial, recipe_grid, recipe_scan
from .recipe import RECIPE_LIMITS, Recipe

__all__ = [
    "RECIPE_LIMITS",
    "Plan",
    "Recipe",
    "measure_recipe",
    "prepare_vial",
    "recipe_grid",
    "recipe_scan",
]

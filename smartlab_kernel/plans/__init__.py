"""Bluesky plans for the bench: prepare and measure recipes, scans over recipes."""

from .measure import Plan, clear_stations, measure_recipe, prepare_vial, recipe_grid, recipe_scan
from .monitoring import ENVIRONMENT_STREAM, monitor_environment
from .recipe import RECIPE_LIMITS, Recipe

__all__ = [
    "ENVIRONMENT_STREAM",
    "RECIPE_LIMITS",
    "Plan",
    "Recipe",
    "clear_stations",
    "measure_recipe",
    "monitor_environment",
    "prepare_vial",
    "recipe_grid",
    "recipe_scan",
]

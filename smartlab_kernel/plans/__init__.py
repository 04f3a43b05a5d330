"""Bluesky plans for the bench: prepare and measure recipes, scans over recipes.

Recipe values are given to each device in its own units (:func:`in_units_of`).

PyLabRobot liquid handlers have their own plan stubs, named as PyLabRobot
names its calls, in :mod:`smartlab_kernel.plans.liquid_handling` (not
re-exported here: ``aspirate``, ``transfer``, ... would be too general names).
"""

from .measure import Plan, clear_stations, measure_recipe, prepare_vial, recipe_grid, recipe_scan
from .monitoring import ENVIRONMENT_STREAM, monitor_environment
from .recipe import RECIPE_LIMITS, Recipe
from .units import device_units, in_units_of

__all__ = [
    "ENVIRONMENT_STREAM",
    "RECIPE_LIMITS",
    "Plan",
    "Recipe",
    "clear_stations",
    "device_units",
    "in_units_of",
    "measure_recipe",
    "monitor_environment",
    "prepare_vial",
    "recipe_grid",
    "recipe_scan",
]

"""A recipe: what goes into a vial and how it is reacted."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

RECIPE_LIMITS: dict[str, tuple[float, float, str]] = {
    "temperature_c": (15.0, 150.0, "degC"),
    "hold_s": (0.0, 86400.0, "s"),
    "stir_rpm": (0.0, 1500.0, "rpm"),
}


def _number(name: str, value: Any, low: float, high: float, units: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"recipe {name} must be a number in {units}, got {value!r}")
    if not math.isfinite(value) or not low <= value <= high:
        raise ValueError(f"recipe {name} {value!r} {units} is outside [{low:g}, {high:g}] {units}")
    return float(value)


@dataclass(frozen=True)
class Recipe:
    """One experiment on the bench.

    Attributes:
        volumes_ml: Millilitres of each stock to dispense (at least one > 0).
        temperature_c: Reaction temperature.
        hold_s: Reaction time at temperature (simulated seconds).
        stir_rpm: Stirring speed.
        params: The parameters this recipe was made from (e.g. a planner's
            suggestion), recorded with the run.

    Raises:
        TypeError: If a value is not a number.
        ValueError: If a value is out of range or no volume is dispensed.
    """

    volumes_ml: Mapping[str, float]
    temperature_c: float = 25.0
    hold_s: float = 600.0
    stir_rpm: float = 500.0
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.volumes_ml, Mapping) or not self.volumes_ml:
            raise ValueError(
                f"recipe volumes_ml must map stock names to mL, got {self.volumes_ml!r}"
            )
        volumes = {
            str(stock): _number(f"volume of {stock!r}", v, 0.0, 1e4, "mL")
            for stock, v in self.volumes_ml.items()
        }
        if not any(v > 0 for v in volumes.values()):
            raise ValueError(f"recipe dispenses nothing: every volume is 0 ({volumes})")
        object.__setattr__(self, "volumes_ml", volumes)
        for name, (low, high, units) in RECIPE_LIMITS.items():
            object.__setattr__(self, name, _number(name, getattr(self, name), low, high, units))
        object.__setattr__(self, "params", dict(self.params))

    @classmethod
    def from_fractions(
        cls, fractions: Mapping[str, float], total_ml: float = 5.0, **conditions: Any
    ) -> Recipe:
        """Make a recipe from volume fractions of each stock and a total volume."""
        total = sum(float(v) for v in fractions.values())
        if not total > 0:
            raise ValueError(f"fractions must add up to more than 0, got {dict(fractions)}")
        volumes = {stock: total_ml * float(f) / total for stock, f in fractions.items()}
        return cls(volumes_ml=volumes, **conditions)

    def as_dict(self) -> dict[str, Any]:
        """Return the recipe as JSON-ready metadata."""
        return {
            "volumes_ml": dict(self.volumes_ml),
            "temperature_c": self.temperature_c,
            "hold_s": self.hold_s,
            "stir_rpm": self.stir_rpm,
            "params": dict(self.params),
        }

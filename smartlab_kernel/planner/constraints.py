"""Linear constraints on real parameters: mixtures (sums) and inequalities."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from smartlab_kernel.planner.errors import InvalidConfigError

#: Largest violation (absolute, in parameter units) a suggestion may show.
CONSTRAINT_TOLERANCE = 1e-6


@dataclass(frozen=True)
class LinearConstraint:
    """``lower <= sum(coefficients[name] * params[name]) <= upper``.

    Args:
        coefficients: Coefficient of each real parameter in the sum.
        lower: Smallest allowed value of the sum, or ``None``.
        upper: Largest allowed value of the sum, or ``None``.
    """

    coefficients: Mapping[str, float]
    lower: float | None = None
    upper: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.coefficients, Mapping) or not self.coefficients:
            raise InvalidConfigError(
                "a linear constraint needs a mapping of parameter name to coefficient, "
                f"got {self.coefficients!r}"
            )
        object.__setattr__(
            self,
            "coefficients",
            {k: _finite(v, f"coefficient of {k!r}") for k, v in self.coefficients.items()},
        )
        object.__setattr__(
            self, "lower", None if self.lower is None else _finite(self.lower, "lower")
        )
        object.__setattr__(
            self, "upper", None if self.upper is None else _finite(self.upper, "upper")
        )
        if self.lower is None and self.upper is None:
            raise InvalidConfigError(
                f"linear constraint on {list(self.coefficients)}: give lower, upper or both"
            )
        if self.lower is not None and self.upper is not None and self.lower > self.upper:
            raise InvalidConfigError(
                f"linear constraint: lower={self.lower} is greater than upper={self.upper}"
            )

    @property
    def is_equality(self) -> bool:
        """Whether the constraint pins the sum to one value."""
        return self.lower is not None and self.lower == self.upper

    def value(self, params: Mapping[str, float]) -> float:
        """The weighted sum for ``params``."""
        return sum(c * float(params[name]) for name, c in self.coefficients.items())

    def violation(self, params: Mapping[str, float]) -> float:
        """How far ``params`` lie outside the allowed range (0.0 when satisfied)."""
        total = self.value(params)
        below = self.lower - total if self.lower is not None else 0.0
        above = total - self.upper if self.upper is not None else 0.0
        return max(below, above, 0.0)

    def describe(self) -> str:
        """A readable form such as ``0 <= 1*a + 2*b <= 3``."""
        terms = " + ".join(f"{c:g}*{n}" for n, c in self.coefficients.items())
        if self.is_equality:
            return f"{terms} = {self.lower:g}"
        low = f"{self.lower:g} <= " if self.lower is not None else ""
        high = f" <= {self.upper:g}" if self.upper is not None else ""
        return f"{low}{terms}{high}"


@dataclass(frozen=True)
class SumConstraint(LinearConstraint):
    """The listed parameters sum to ``total`` (a mixture of fractions).

    Args:
        names: The real parameters that make up the mixture.
        total: Their required sum.
    """

    names: Sequence[str] = field(default_factory=tuple)
    total: float = 1.0

    def __init__(self, names: Sequence[str], total: float = 1.0) -> None:
        if isinstance(names, str) or len(names) < 2 or len(set(names)) != len(names):
            raise InvalidConfigError(
                f"a sum constraint needs at least two distinct parameter names, got {names!r}"
            )
        object.__setattr__(self, "names", tuple(names))
        value = _finite(total, "total")
        object.__setattr__(self, "total", value)
        super().__init__({name: 1.0 for name in names}, value, value)


def _finite(value: object, what: str) -> float:
    """``value`` as a finite float, or an :class:`InvalidConfigError` naming ``what``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidConfigError(
            f"linear constraint: {what} must be a finite number, got {value!r} "
            f"of type {type(value).__name__}"
        )
    if not math.isfinite(value):
        raise InvalidConfigError(
            f"linear constraint: {what} must be a finite number, got {value!r}"
        )
    return float(value)


Constraint = LinearConstraint


__all__ = ["CONSTRAINT_TOLERANCE", "Constraint", "LinearConstraint", "SumConstraint"]

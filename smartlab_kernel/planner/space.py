"""The search space: validation and encoding of parameter dicts as model inputs.

Encoding: a real or integer parameter is one column in its own units; a
categorical parameter is one one-hot column per choice, or the columns of its
``encoding`` (descriptors of each choice, e.g. of a molecule). The model
normalises these columns to the unit cube with fixed bounds (``Normalize``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

from smartlab_kernel.planner.constraints import CONSTRAINT_TOLERANCE, LinearConstraint
from smartlab_kernel.planner.errors import (
    ConstraintViolationError,
    InvalidConfigError,
    UnknownParameterError,
)
from smartlab_kernel.planner.parameters import Categorical, Choice, Integer, Parameter, Real

DTYPE = torch.float64


class SearchSpace:
    """Parameters plus linear constraints, with encode/decode to model inputs.

    Args:
        parameters: The parameters, in encoding order.
        constraints: Linear constraints over real parameters.
    """

    def __init__(
        self, parameters: Sequence[Parameter], constraints: Sequence[LinearConstraint] = ()
    ) -> None:
        if not parameters:
            raise InvalidConfigError("a search space needs at least one parameter")
        names = [p.name for p in parameters]
        if len(set(names)) != len(names):
            raise InvalidConfigError(f"parameter names must be unique, got {names}")
        self.parameters: tuple[Parameter, ...] = tuple(parameters)
        self.by_name: dict[str, Parameter] = {p.name: p for p in parameters}
        self.constraints: tuple[LinearConstraint, ...] = tuple(constraints)
        self.columns: dict[str, list[int]] = {}
        lows: list[float] = []
        highs: list[float] = []
        for parameter in self.parameters:
            start = len(lows)
            if isinstance(parameter, Categorical):
                codes = torch.tensor([parameter.code(k) for k in range(len(parameter.choices))])
                low, high = codes.min(dim=0).values, codes.max(dim=0).values
                lows += low.tolist()
                highs += torch.where(high > low, high, low + 1.0).tolist()  # a constant column
            else:
                lows.append(float(parameter.low))
                highs.append(float(parameter.high))
            self.columns[parameter.name] = list(range(start, len(lows)))
        self.bounds: Tensor = torch.tensor([lows, highs], dtype=DTYPE)
        for constraint in self.constraints:
            for name in constraint.coefficients:
                if not isinstance(self.by_name.get(name), Real):
                    raise InvalidConfigError(
                        f"constraint {constraint.describe()}: {name!r} must be a Real parameter "
                        f"of the space; reals are {self.real_names}"
                    )
        if self.constraints:
            self._check_feasible()

    def _check_feasible(self) -> None:
        """Refuse constraints that no point within the parameters' ranges meets.

        One linear program (scipy's HiGHS) over the real parameters' box; a
        space the planner cannot sample is a configuration error, so it is
        reported here rather than as botorch's ``InfeasibilityError`` at the
        first suggestion.
        """
        from scipy.optimize import linprog

        reals = sorted({name for c in self.constraints for name in c.coefficients})
        column = {name: i for i, name in enumerate(reals)}
        a_ub: list[list[float]] = []
        b_ub: list[float] = []
        a_eq: list[list[float]] = []
        b_eq: list[float] = []
        for c in self.constraints:
            row = [0.0] * len(reals)
            for name, coefficient in c.coefficients.items():
                row[column[name]] = coefficient
            if c.is_equality:
                a_eq.append(row)
                b_eq.append(float(c.lower))  # type: ignore[arg-type]
                continue
            if c.upper is not None:
                a_ub.append(row)
                b_ub.append(c.upper)
            if c.lower is not None:
                a_ub.append([-x for x in row])
                b_ub.append(-c.lower)
        ranges = [
            (float(self.by_name[n].low), float(self.by_name[n].high))  # type: ignore[union-attr]
            for n in reals
        ]
        result = linprog(
            [0.0] * len(reals),
            A_ub=a_ub or None,
            b_ub=b_ub or None,
            A_eq=a_eq or None,
            b_eq=b_eq or None,
            bounds=ranges,
            method="highs",
        )
        if result.status == 2:  # infeasible
            described = "; ".join(c.describe() for c in self.constraints)
            limits = ", ".join(
                f"{n} in [{lo:g}, {hi:g}]" for n, (lo, hi) in zip(reals, ranges, strict=True)
            )
            raise InvalidConfigError(
                f"no parameter values meet every constraint ({described}) "
                f"within the parameters' ranges ({limits})"
            )

    @property
    def names(self) -> list[str]:
        """Parameter names in order."""
        return [p.name for p in self.parameters]

    @property
    def real_names(self) -> list[str]:
        """Names of the real parameters."""
        return [p.name for p in self.parameters if isinstance(p, Real)]

    @property
    def dim(self) -> int:
        """Number of encoded columns ``d``."""
        return int(self.bounds.shape[-1])

    @property
    def column_groups(self) -> list[int]:
        """For each encoded column, the index of the parameter it encodes."""
        return [i for i, p in enumerate(self.parameters) for _ in self.columns[p.name]]

    @property
    def categoricals(self) -> list[Categorical]:
        """The categorical parameters."""
        return [p for p in self.parameters if isinstance(p, Categorical)]

    @property
    def integer_columns(self) -> list[int]:
        """Encoded columns of the integer parameters."""
        return [self.columns[p.name][0] for p in self.parameters if isinstance(p, Integer)]

    def validate(self, params: Mapping[str, Any]) -> dict[str, Choice]:
        """Check names, types, bounds and constraints; return clean Python values.

        Raises:
            UnknownParameterError: Unknown or missing names.
            ParameterTypeError: A value of the wrong type.
            OutOfBoundsError: A value outside bounds or choices.
            ConstraintViolationError: A constraint is violated by more than 1e-6.
        """
        if not isinstance(params, Mapping):
            raise UnknownParameterError(f"parameters must be a dict, got {type(params).__name__}")
        unknown = sorted(set(params) - set(self.by_name))
        missing = [n for n in self.names if n not in params]
        if unknown or missing:
            raise UnknownParameterError(
                f"unknown parameters {unknown}, missing parameters {missing}; "
                f"the space defines {self.names}"
            )
        clean = {p.name: p.validate(params[p.name]) for p in self.parameters}
        for constraint in self.constraints:
            violation = constraint.violation(clean)  # type: ignore[arg-type]
            if violation > CONSTRAINT_TOLERANCE:
                raise ConstraintViolationError(
                    f"parameters violate the constraint {constraint.describe()}: the sum is "
                    f"{constraint.value(clean):.9g} (off by {violation:.3g}, "  # type: ignore[arg-type]
                    f"tolerance {CONSTRAINT_TOLERANCE})"
                )
        return clean

    def encode(self, rows: Sequence[Mapping[str, Choice]]) -> Tensor:
        """Encode validated parameter dicts.

        Returns:
            A ``n x d`` tensor.
        """
        X = torch.zeros(len(rows), self.dim, dtype=DTYPE)
        for i, row in enumerate(rows):
            for parameter in self.parameters:
                cols = self.columns[parameter.name]
                if isinstance(parameter, Categorical):
                    index = parameter.choices.index(row[parameter.name])
                    X[i, cols] = torch.tensor(parameter.code(index), dtype=DTYPE)
                else:
                    X[i, cols[0]] = float(row[parameter.name])
        return X

    def decode(self, X: Tensor) -> list[dict[str, Choice]]:
        """Decode encoded rows, rounding integers and taking the arg-max one-hot column.

        Args:
            X: A ``n x d`` tensor.
        """
        rows: list[dict[str, Choice]] = []
        for x in X.detach().cpu().tolist():
            row: dict[str, Choice] = {}
            for parameter in self.parameters:
                cols = self.columns[parameter.name]
                if isinstance(parameter, Categorical):
                    row[parameter.name] = parameter.choices[self._nearest(parameter, x, cols)]
                elif isinstance(parameter, Integer):
                    row[parameter.name] = int(
                        min(max(round(x[cols[0]]), parameter.low), parameter.high)
                    )
                else:
                    row[parameter.name] = float(min(max(x[cols[0]], parameter.low), parameter.high))
            rows.append(row)
        return rows

    def _nearest(self, parameter: Categorical, x: list[float], cols: list[int]) -> int:
        """The choice whose code is nearest to ``x``'s columns (the arg-max for one-hot)."""
        values = [x[c] for c in cols]
        if parameter.encoding is None:
            return values.index(max(values))
        span = (self.bounds[1, cols] - self.bounds[0, cols]).clamp_min(1e-12)
        codes = torch.tensor(parameter.encoding, dtype=DTYPE)
        distance = (((codes - torch.tensor(values, dtype=DTYPE)) / span) ** 2).sum(dim=-1)
        return int(distance.argmin())

    def from_unit(self, U: Tensor) -> list[dict[str, Choice]]:
        """Map points of the unit cube (one column per parameter) into the space.

        Args:
            U: A ``n x k`` tensor in ``[0, 1]``, ``k`` = number of parameters.
        """
        rows: list[dict[str, Choice]] = []
        for u in U.tolist():
            row: dict[str, Choice] = {}
            for value, parameter in zip(u, self.parameters, strict=True):
                if isinstance(parameter, Categorical):
                    k = min(int(value * len(parameter.choices)), len(parameter.choices) - 1)
                    row[parameter.name] = parameter.choices[k]
                elif isinstance(parameter, Integer):
                    span = parameter.high - parameter.low + 1
                    row[parameter.name] = min(parameter.low + int(value * span), parameter.high)
                else:
                    row[parameter.name] = parameter.low + value * (parameter.high - parameter.low)
            rows.append(row)
        return rows

    def botorch_constraints(
        self,
    ) -> tuple[list[tuple[Tensor, Tensor, float]], list[tuple[Tensor, Tensor, float]]]:
        """Constraints in BoTorch's ``(indices, coefficients, rhs)`` form.

        Returns:
            ``(inequality, equality)`` lists; inequalities mean ``sum >= rhs``.
        """
        inequality: list[tuple[Tensor, Tensor, float]] = []
        equality: list[tuple[Tensor, Tensor, float]] = []
        for c in self.constraints:
            idx = torch.tensor([self.columns[n][0] for n in c.coefficients], dtype=torch.long)
            coef = torch.tensor(list(c.coefficients.values()), dtype=DTYPE)
            if c.is_equality:
                equality.append((idx, coef, float(c.lower)))  # type: ignore[arg-type]
                continue
            if c.lower is not None:
                inequality.append((idx, coef, float(c.lower)))
            if c.upper is not None:
                inequality.append((idx, -coef, -float(c.upper)))
        return inequality, equality

    def grid_size(self) -> float:
        """Number of points of a fully discrete space (``inf`` if any parameter is real)."""
        size = 1.0
        for p in self.parameters:
            if isinstance(p, Real):
                return math.inf
            size *= len(p.choices) if isinstance(p, Categorical) else p.high - p.low + 1
        return size

    def grid(self) -> list[dict[str, Choice]]:
        """All points of a fully discrete space."""
        axes: list[Sequence[Choice]] = [
            p.choices if isinstance(p, Categorical) else range(int(p.low), int(p.high) + 1)
            for p in self.parameters
        ]
        return [dict(zip(self.names, combo, strict=True)) for combo in itertools.product(*axes)]


__all__ = ["DTYPE", "SearchSpace"]

"""Parameter types of a search space: real, integer and categorical."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from smartlab_kernel.planner.errors import InvalidConfigError, OutOfBoundsError, ParameterTypeError

#: Allowed values of a categorical parameter (JSON-safe scalars).
Choice = str | int | float | bool

_BOUND_TOLERANCE = 1e-9


def _is_number(value: object) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    )


@dataclass(frozen=True)
class Real:
    """A continuous parameter in the closed interval ``[low, high]``.

    Args:
        name: Parameter name, used as the key of ``Suggestion.params``.
        low: Lower bound.
        high: Upper bound (strictly greater than ``low``).
    """

    name: str
    low: float
    high: float

    def __post_init__(self) -> None:
        _check_name(self.name)
        if not (_is_number(self.low) and _is_number(self.high)):
            raise InvalidConfigError(f"Real {self.name!r}: bounds must be numbers")
        if not (math.isfinite(self.low) and math.isfinite(self.high) and self.low < self.high):
            raise InvalidConfigError(
                f"Real {self.name!r}: need finite low < high, got low={self.low}, high={self.high}"
            )

    def validate(self, value: object) -> float:
        """Return ``value`` as a float, or raise if it is not a number within bounds."""
        if not _is_number(value):
            raise ParameterTypeError(
                f"{self.name!r} must be a real number in [{self.low}, {self.high}], got {value!r}"
            )
        number = float(value)  # type: ignore[arg-type]
        tolerance = _BOUND_TOLERANCE * (self.high - self.low)
        if not math.isfinite(number) or not (
            self.low - tolerance <= number <= self.high + tolerance
        ):
            raise OutOfBoundsError(
                f"{self.name!r} = {number!r} is outside its bounds [{self.low}, {self.high}]"
            )
        return min(max(number, self.low), self.high)


@dataclass(frozen=True)
class Integer:
    """An integer parameter in the closed interval ``[low, high]``.

    Args:
        name: Parameter name.
        low: Smallest allowed integer.
        high: Largest allowed integer (strictly greater than ``low``).
    """

    name: str
    low: int
    high: int

    def __post_init__(self) -> None:
        _check_name(self.name)
        if not (isinstance(self.low, int | np.integer) and isinstance(self.high, int | np.integer)):
            raise InvalidConfigError(f"Integer {self.name!r}: bounds must be integers")
        if not self.low < self.high:
            raise InvalidConfigError(
                f"Integer {self.name!r}: need low < high, got low={self.low}, high={self.high}"
            )

    def validate(self, value: object) -> int:
        """Return ``value`` as an int, or raise if it is not an integer within bounds.

        Integral floats such as ``300.0`` (as pandas produces) are accepted.
        """
        if not _is_number(value) or not float(value).is_integer():  # type: ignore[arg-type]
            raise ParameterTypeError(
                f"{self.name!r} must be an integer in [{self.low}, {self.high}], got {value!r}"
            )
        number = int(value)  # type: ignore[call-overload]
        if not self.low <= number <= self.high:
            raise OutOfBoundsError(
                f"{self.name!r} = {number} is outside its bounds [{self.low}, {self.high}]"
            )
        return number


@dataclass(frozen=True)
class Categorical:
    """A parameter taking one of a finite list of values.

    The model sees each choice as a one-hot code, or, with ``encoding``, as a
    vector of numbers that describe it (for molecules, see
    :func:`~smartlab_kernel.planner.substances.Substance`): choices with
    similar descriptors are then expected to give similar results, so what
    is learnt about one informs the others.

    Args:
        name: Parameter name.
        choices: The allowed values (at least two, distinct, JSON-safe scalars).
        encoding: One vector of finite numbers per choice, in the order of
            ``choices``, all of one length, no two equal; ``None`` for one-hot.
        encoding_source: How the encoding was made (recorded in the planner's
            configuration), e.g. ``"rdkit 2026.09.1 descriptors, 4 components"``.
    """

    name: str
    choices: tuple[Choice, ...] = field(default_factory=tuple)
    encoding: tuple[tuple[float, ...], ...] | None = None
    encoding_source: str | None = None

    def __post_init__(self) -> None:
        _check_name(self.name)
        object.__setattr__(self, "choices", tuple(self.choices))
        if len(self.choices) < 2 or len(set(self.choices)) != len(self.choices):
            raise InvalidConfigError(
                f"Categorical {self.name!r}: need at least two distinct choices, "
                f"got {list(self.choices)!r}"
            )
        for choice in self.choices:
            if not isinstance(choice, str | int | float | bool):
                raise InvalidConfigError(
                    f"Categorical {self.name!r}: choice {choice!r} is not a str, int, float or bool"
                )
        if self.encoding is not None:
            object.__setattr__(
                self, "encoding", _check_encoding(self.name, self.choices, self.encoding)
            )

    @property
    def width(self) -> int:
        """Number of model inputs: one per choice (one-hot) or the encoding's length."""
        return len(self.choices) if self.encoding is None else len(self.encoding[0])

    def code(self, index: int) -> tuple[float, ...]:
        """The model inputs of choice number ``index``."""
        if self.encoding is not None:
            return self.encoding[index]
        return tuple(1.0 if j == index else 0.0 for j in range(len(self.choices)))

    def validate(self, value: object) -> Choice:
        """Return the matching choice, or raise if ``value`` is not one of the choices."""
        for choice in self.choices:
            comparable = type(choice) is type(value) or (_is_number(choice) and _is_number(value))
            if comparable and choice == value:
                return choice
        if isinstance(value, np.generic):
            return self.validate(value.item())
        raise OutOfBoundsError(
            f"{self.name!r} = {value!r} is not one of its choices {list(self.choices)!r}"
        )


Parameter = Real | Integer | Categorical


def _check_encoding(
    name: str, choices: tuple[Choice, ...], encoding: Any
) -> tuple[tuple[float, ...], ...]:
    """``encoding`` as a tuple of float tuples, or an error naming what is wrong."""
    try:
        vectors = tuple(tuple(float(v) for v in vector) for vector in encoding)
    except (TypeError, ValueError):
        raise InvalidConfigError(
            f"Categorical {name!r}: encoding must be one sequence of numbers per choice, "
            f"got {encoding!r}"
        ) from None
    if len(vectors) != len(choices):
        raise InvalidConfigError(
            f"Categorical {name!r}: encoding has {len(vectors)} vectors for {len(choices)} choices"
        )
    widths = {len(v) for v in vectors}
    if len(widths) != 1 or 0 in widths:
        raise InvalidConfigError(
            f"Categorical {name!r}: encoding vectors must share one length >= 1, "
            f"got lengths {sorted(widths)}"
        )
    if not all(math.isfinite(v) for vector in vectors for v in vector):
        raise InvalidConfigError(f"Categorical {name!r}: encoding holds a NaN or infinite number")
    if len(set(vectors)) != len(vectors):
        same = [c for c, v in zip(choices, vectors, strict=True) if vectors.count(v) > 1]
        raise InvalidConfigError(
            f"Categorical {name!r}: choices {same!r} have the same encoding; "
            "the model could not tell them apart"
        )
    return vectors


def _check_name(name: Any) -> None:
    if not isinstance(name, str) or not name:
        raise InvalidConfigError(f"a parameter name must be a non-empty string, got {name!r}")


__all__ = ["Categorical", "Choice", "Integer", "Parameter", "Real"]

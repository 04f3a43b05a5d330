"""Errors raised by the planner; each names the value given and what is allowed.

Every error subclasses :class:`PlannerError` and either :class:`ValueError` or
:class:`TypeError`, so callers can catch them broadly or precisely. A planner
method that raises leaves the planner's state unchanged.
"""

from __future__ import annotations


class PlannerError(Exception):
    """Base class of every error the planner raises."""


class InvalidConfigError(PlannerError, ValueError):
    """A parameter, objective, constraint or option was defined inconsistently."""


class UnknownParameterError(PlannerError, ValueError):
    """Parameters were given that the search space does not define, or some are missing."""


class ParameterTypeError(PlannerError, TypeError):
    """A parameter value has the wrong type (for example a string for a real number)."""


class OutOfBoundsError(PlannerError, ValueError):
    """A parameter value lies outside its bounds or is not one of its choices."""


class ConstraintViolationError(PlannerError, ValueError):
    """A set of parameter values violates a linear or sum constraint."""


class InvalidOutcomeError(PlannerError, ValueError):
    """Outcomes are missing, unknown, not numbers, NaN or infinite."""


class UnknownSuggestionError(PlannerError, ValueError):
    """A suggestion (or its id) was never made by this planner."""


class DuplicateObservationError(PlannerError, ValueError):
    """A suggestion was already observed, rejected or failed."""


class PlannerStateError(PlannerError, ValueError):
    """The planner cannot do this in its current state (e.g. predict before any data)."""


__all__ = [
    "ConstraintViolationError",
    "DuplicateObservationError",
    "InvalidConfigError",
    "InvalidOutcomeError",
    "OutOfBoundsError",
    "ParameterTypeError",
    "PlannerError",
    "PlannerStateError",
    "UnknownParameterError",
    "UnknownSuggestionError",
]

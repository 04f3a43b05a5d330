"""Experiment planner: Bayesian optimisation with human review and provenance.

Example:
    >>> from smartlab_kernel.planner import Planner, Real, Objective
    >>> planner = Planner([Real("x", 0, 1)], [Objective("y", "maximize")], seed=0)
    >>> [s] = planner.suggest()
    >>> record = planner.observe(s, {"y": 1.0})
"""

import warnings

# gpytorch's linear_operator decorates functions with ``torch.jit.script`` at import
# time, which torch 2.13 deprecates; silence exactly that warning, only while importing.
with warnings.catch_warnings():
    warnings.filterwarnings(
        "ignore", message=r".*torch\.jit\.script.*is deprecated", category=DeprecationWarning
    )
    import botorch  # noqa: F401

from smartlab_kernel.planner.constraints import LinearConstraint, SumConstraint
from smartlab_kernel.planner.errors import (
    ConstraintViolationError,
    DuplicateObservationError,
    InvalidConfigError,
    InvalidOutcomeError,
    OutOfBoundsError,
    ParameterTypeError,
    PlannerError,
    PlannerStateError,
    UnknownParameterError,
    UnknownSuggestionError,
)
from smartlab_kernel.planner.objectives import Objective
from smartlab_kernel.planner.parameters import Categorical, Integer, Real
from smartlab_kernel.planner.planner import Planner
from smartlab_kernel.planner.substances import Substance
from smartlab_kernel.planner.suggestion import Suggestion

__all__ = [
    "Categorical",
    "ConstraintViolationError",
    "DuplicateObservationError",
    "Integer",
    "InvalidConfigError",
    "InvalidOutcomeError",
    "LinearConstraint",
    "Objective",
    "OutOfBoundsError",
    "ParameterTypeError",
    "Planner",
    "PlannerError",
    "PlannerStateError",
    "Real",
    "Substance",
    "Suggestion",
    "SumConstraint",
    "UnknownParameterError",
    "UnknownSuggestionError",
]

"""The sample lifecycle: states and the transitions allowed between them.

::

    registered -> prepared -> measured -> stored -> disposed

and from any state that is not final -> invalidated. ``disposed`` and
``invalidated`` are final.
"""

from __future__ import annotations

from enum import StrEnum

from .errors import IllegalTransitionError


class SampleState(StrEnum):
    """Where a sample is in its life."""

    REGISTERED = "registered"
    PREPARED = "prepared"
    MEASURED = "measured"
    STORED = "stored"
    DISPOSED = "disposed"
    INVALIDATED = "invalidated"


#: Allowed next states for each state, in the order a UI should offer them.
TRANSITIONS: dict[SampleState, tuple[SampleState, ...]] = {
    SampleState.REGISTERED: (SampleState.PREPARED, SampleState.INVALIDATED),
    SampleState.PREPARED: (SampleState.MEASURED, SampleState.INVALIDATED),
    SampleState.MEASURED: (SampleState.STORED, SampleState.INVALIDATED),
    SampleState.STORED: (SampleState.DISPOSED, SampleState.INVALIDATED),
    SampleState.DISPOSED: (),
    SampleState.INVALIDATED: (),
}

#: States with no way out.
FINAL_STATES: frozenset[SampleState] = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)


def parse_state(value: str | SampleState) -> SampleState:
    """Return ``value`` as a :class:`SampleState`.

    Args:
        value: A state or its name, case-insensitive (``"Prepared"``).

    Returns:
        The matching state.

    Raises:
        ValueError: ``value`` is not a state; the message lists the states.
    """
    if isinstance(value, SampleState):
        return value
    try:
        return SampleState(value.strip().lower())
    except ValueError:
        names = ", ".join(s.value for s in SampleState)
        raise ValueError(f"unknown sample state {value!r}; states are: {names}") from None


def allowed_next(state: str | SampleState) -> tuple[SampleState, ...]:
    """Return the states a sample in ``state`` may move to.

    Args:
        state: The current state.

    Returns:
        The allowed next states (empty for a final state).
    """
    return TRANSITIONS[parse_state(state)]


def check_transition(sample_id: str, current: str | SampleState, requested: str) -> SampleState:
    """Validate a transition and return the requested state.

    Args:
        sample_id: The sample, named in the error.
        current: Its current state.
        requested: The state asked for.

    Returns:
        ``requested`` as a :class:`SampleState`.

    Raises:
        IllegalTransitionError: The transition is not allowed; the message
            names the current state, the requested one and the allowed ones.
        ValueError: ``requested`` is not a state at all.
    """
    current_state = parse_state(current)
    target = parse_state(requested)
    allowed = TRANSITIONS[current_state]
    if target not in allowed:
        raise IllegalTransitionError(
            sample_id, current_state.value, target.value, [s.value for s in allowed]
        )
    return target

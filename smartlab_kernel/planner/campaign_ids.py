"""Where a new planner's campaign id comes from: a fresh random one, or a recorded one.

A campaign id is drawn at random when a :class:`~smartlab_kernel.planner.Planner`
is made. A notebook replayed on a published bundle makes its planners again,
and its cells search the catalog by ``planner.campaign_id``; so while a
replay is open (:func:`hand_out_recorded`), new planners take the bundle's
campaign ids, in the order the recorded notebook first used them, and random
ones once those are used up.
"""

from __future__ import annotations

import threading
import uuid
from collections import deque
from collections.abc import Iterable

_recorded: deque[str] = deque()
_lock = threading.Lock()


def new_campaign_id() -> str:
    """The next recorded campaign id, if a replay handed some out, else 8 random hex digits."""
    with _lock:
        if _recorded:
            return _recorded.popleft()
    return uuid.uuid4().hex[:8]


def hand_out_recorded(ids: Iterable[str]) -> None:
    """Make the next new planners take ``ids``, in order (replaces what was left of earlier ones).

    Raises:
        ValueError: If an id is not a non-empty string.
    """
    given = list(ids)
    bad = [i for i in given if not isinstance(i, str) or not i]
    if bad:
        raise ValueError(f"campaign ids must be non-empty strings, got {bad!r}")
    with _lock:
        _recorded.clear()
        _recorded.extend(given)


def recorded_left() -> list[str]:
    """The recorded campaign ids not yet taken by a planner."""
    with _lock:
        return list(_recorded)


def stop_handing_out() -> None:
    """New planners draw random campaign ids again."""
    with _lock:
        _recorded.clear()


__all__ = ["hand_out_recorded", "new_campaign_id", "recorded_left", "stop_handing_out"]

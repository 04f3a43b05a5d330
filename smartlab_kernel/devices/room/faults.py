"""Faults of the room: a hood exhaust fan that fails, a sash left open."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

from ..faults import FAULT_KINDS, FaultInjector

ROOM_FAULT_KINDS: dict[str, str] = {
    "fan_failure": "the hood's exhaust fan stops; exhaust flow and face velocity collapse",
    "sash_open": "the sash is left open at its working height whatever it is told",
}


class RoomFaultInjector(FaultInjector):
    """A :class:`FaultInjector` that also knows the room's faults and reports changes.

    Turning a fault on or off changes the room's physics (flows, power), so
    ``on_change`` is called after every change; the room uses it to re-anchor
    its dynamics and integrate energy exactly.

    Args:
        device_name: Name of the device, used in error messages.
        allowed: Fault kinds this device supports (from ``FAULT_KINDS`` or
            ``ROOM_FAULT_KINDS``).
        on_change: Called with no arguments after a fault is switched on or off.

    Raises:
        ValueError: If a kind is unknown.
    """

    def __init__(
        self,
        device_name: str,
        allowed: Iterable[str],
        on_change: Callable[[], None] | None = None,
    ) -> None:
        kinds = frozenset(allowed)
        known = FAULT_KINDS.keys() | ROOM_FAULT_KINDS.keys()
        unknown = kinds - known
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; known: {sorted(known)}")
        self.device_name = device_name
        self.allowed = kinds
        self._active: set[str] = set()
        self._lock = threading.Lock()
        self._on_change = on_change

    def inject(self, kind: str) -> None:
        """Turn a fault on (see :meth:`FaultInjector.inject`)."""
        super().inject(kind)
        if self._on_change is not None:
            self._on_change()

    def clear(self, kind: str | None = None) -> None:
        """Turn one fault (or, with ``None``, every fault) off."""
        super().clear(kind)
        if self._on_change is not None:
            self._on_change()

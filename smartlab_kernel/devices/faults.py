"""Fault injection: switch faults on and off in a simulated device on purpose."""

from __future__ import annotations

import threading
from collections.abc import Iterable

FAULT_KINDS: dict[str, str] = {
    "timeout": "operations never finish; the status fails after the device timeout",
    "stuck": "the axis does not move; the readback stays where it is",
    "disconnect": "every read and set raises DeviceDisconnectedError",
    "nan": "readings are NaN",
}
# The fifth kind of fault, an empty reservoir, is a state rather than a switch:
# see smartlab_kernel.testing.faults.empty_reservoir.


class FaultInjector:
    """Holds which faults are active on one device.

    Args:
        device_name: Name of the device, used in error messages.
        allowed: Fault kinds this device supports (a subset of ``FAULT_KINDS``).
    """

    def __init__(self, device_name: str, allowed: Iterable[str]) -> None:
        self.device_name = device_name
        self.allowed = frozenset(allowed)
        unknown = self.allowed - FAULT_KINDS.keys()
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; known: {sorted(FAULT_KINDS)}")
        self._active: set[str] = set()
        self._lock = threading.Lock()

    def inject(self, kind: str) -> None:
        """Turn a fault on.

        Raises:
            ValueError: If this device does not support ``kind``.
        """
        if kind not in self.allowed:
            raise ValueError(
                f"device {self.device_name!r} does not support fault {kind!r}; "
                f"supported: {sorted(self.allowed)}"
            )
        with self._lock:
            self._active.add(kind)

    def clear(self, kind: str | None = None) -> None:
        """Turn one fault (or, with ``None``, every fault) off."""
        with self._lock:
            if kind is None:
                self._active.clear()
            else:
                self._active.discard(kind)

    def active(self, kind: str) -> bool:
        """Return whether ``kind`` is switched on."""
        return kind in self._active

    @property
    def active_kinds(self) -> frozenset[str]:
        """All faults switched on now."""
        return frozenset(self._active)

"""Shared parts of the room's devices: setpoints that report changes, mode switches."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from ophyd import Signal

from ..base import SimulatedDevice
from ..signals import LimitedSignal
from .faults import RoomFaultInjector

if TYPE_CHECKING:
    from .conditions import RoomConditions


class RoomDevice(SimulatedDevice):
    """Base class of the room's simulated devices.

    Top-level room devices are given the room's :class:`RoomConditions` and a
    random generator of their own (the room's generator, seeded from the
    bench seed, so polling the room never shifts the bench's random draws).

    Args:
        conditions: The room this device is in (top-level devices only).
        rng: Random generator for sensor noise (default: seeded from the world).
        **kwargs: Passed to :class:`SimulatedDevice` (``world``, ``name``, ...).
    """

    fault_kinds: tuple[str, ...] = ("disconnect", "nan")
    #: Faults of the room itself (see ``ROOM_FAULT_KINDS``) this device supports.
    room_fault_kinds: tuple[str, ...] = ()

    def __init__(
        self,
        prefix: str = "",
        *,
        conditions: RoomConditions | None = None,
        rng: np.random.Generator | None = None,
        **kwargs: Any,
    ) -> None:
        self._conditions = conditions
        self._rng = rng
        super().__init__(prefix, **kwargs)
        self.faults = RoomFaultInjector(
            self.name, (*self.fault_kinds, *self.room_fault_kinds), self._changed
        )

    @property
    def conditions(self) -> RoomConditions:
        """The room this device is in."""
        node: Any = self
        while node is not None:
            if getattr(node, "_conditions", None) is not None:
                return node._conditions
            node = node.parent
        raise RuntimeError(f"device {self.name!r} is not in a room (no RoomConditions)")

    @property
    def rng(self) -> np.random.Generator:
        """The room's random generator."""
        if self._rng is None:
            self._rng = np.random.default_rng([self.world.seed, 8])
        return self._rng

    def now(self) -> float:
        """Simulated time in seconds."""
        return self.world.clock.now()

    def noisy(self, value: float, sd: float) -> float:
        """Return ``value`` plus Gaussian noise, or NaN with a ``nan`` fault active."""
        if self.faults.active("nan"):
            return math.nan
        with self.world.lock:
            return float(value + sd * self.rng.standard_normal())

    def _changed(self) -> None:
        self.conditions.changed()


class RoomSetpoint(LimitedSignal):
    """A numeric setpoint of a room device that tells the room when it changes."""

    def put(self, value: Any, **kwargs: Any) -> None:
        """Check and set the value, then notify the room (energy meters, dynamics)."""
        super().put(self.coerce(value), **kwargs)
        if isinstance(self.parent, RoomDevice):
            self.parent._changed()


class ModeSignal(Signal):
    """A setting that takes one of a few named values, e.g. ``"occupied"``.

    Args:
        choices: The allowed values; the first is the default.
        **kwargs: Passed to :class:`ophyd.Signal`.
    """

    def __init__(self, *, choices: Sequence[str] = (), **kwargs: Any) -> None:
        kwargs.setdefault("value", choices[0] if choices else "")
        super().__init__(**kwargs)
        self.choices = tuple(choices)

    def check_value(self, value: Any) -> None:
        """Raise :class:`ValueError` unless ``value`` is one of the choices."""
        if value not in self.choices:
            raise ValueError(f"{self.name} must be one of {list(self.choices)}, got {value!r}")

    def put(self, value: Any, **kwargs: Any) -> None:
        """Check and set the value, then notify the room."""
        self.check_value(value)
        super().put(value, **kwargs)
        if isinstance(self.parent, RoomDevice):
            self.parent._changed()

    def describe(self) -> dict[str, dict[str, Any]]:
        """Describe the signal, listing the allowed values."""
        desc = super().describe()
        desc[self.name]["choices"] = list(self.choices)
        return desc

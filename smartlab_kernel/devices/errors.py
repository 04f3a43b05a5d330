"""Errors raised by devices; each says what was wrong and what is allowed."""

from __future__ import annotations

from ophyd.utils import DisconnectedError, LimitError


class DeviceTimeoutError(TimeoutError):
    """A device did not finish an operation within its timeout."""


class DeviceDisconnectedError(DisconnectedError):
    """A device stopped answering (for example, a cable was pulled)."""


class DeviceStoppedError(RuntimeError):
    """An operation was cancelled: the device was stopped, or its run ended."""


class ReservoirEmptyError(ValueError):
    """A dispense asked for more liquid than the reservoir holds."""


class StationOccupiedError(ValueError):
    """The robot was asked to put a vial where another vial already is."""


class UnknownStationError(ValueError):
    """The robot was asked to go to a station that does not exist."""


class NoVialError(RuntimeError):
    """An operation needs a vial at a station and none is there."""


__all__ = [
    "DeviceDisconnectedError",
    "DeviceStoppedError",
    "DeviceTimeoutError",
    "LimitError",
    "NoVialError",
    "ReservoirEmptyError",
    "StationOccupiedError",
    "UnknownStationError",
]

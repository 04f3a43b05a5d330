"""Errors raised by the lab session."""

from __future__ import annotations


class SessionError(RuntimeError):
    """A request the session cannot carry out in its present state."""


class UnknownDeviceError(KeyError):
    """A device name that the lab does not have."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown device"


class RunFailedError(RuntimeError):
    """A plan failed; the original exception is its ``__cause__``."""

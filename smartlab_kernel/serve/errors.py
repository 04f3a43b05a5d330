"""Errors of the lab server."""

from __future__ import annotations


class ServeError(RuntimeError):
    """The lab server could not start, or one of its services failed."""


class ConfigError(ValueError):
    """The lab server's configuration file is wrong (the message says where and why)."""

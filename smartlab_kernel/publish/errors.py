"""Errors of published bundles and of replaying them."""

from __future__ import annotations


class BundleError(Exception):
    """A bundle cannot be written or read (a missing file, a wrong format)."""


class BundleTamperedError(BundleError):
    """A bundle's files do not match its manifest (changed, missing or added)."""


class NotRecordedError(RuntimeError):
    """A replayed notebook submitted a plan the bundle holds no run of."""


class KernelStartError(RuntimeError):
    """A notebook's kernel did not answer within its start-up allowance."""


__all__ = ["BundleError", "BundleTamperedError", "KernelStartError", "NotRecordedError"]

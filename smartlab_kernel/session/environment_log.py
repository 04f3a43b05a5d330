"""Deprecated path: moved to :mod:`smartlab_kernel.management.environment_log`."""

from ._moved import forward

__getattr__ = forward(__name__, "smartlab_kernel.management.environment_log")

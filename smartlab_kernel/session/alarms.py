"""Deprecated path: moved to :mod:`smartlab_kernel.management.alarms`."""

from ._moved import forward

__getattr__ = forward(__name__, "smartlab_kernel.management.alarms")

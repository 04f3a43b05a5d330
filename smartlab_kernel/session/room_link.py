"""Deprecated path: moved to :mod:`smartlab_kernel.management.room_link`."""

from ._moved import forward

__getattr__ = forward(__name__, "smartlab_kernel.management.room_link")

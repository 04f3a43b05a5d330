"""Deprecated path: moved to :mod:`smartlab_kernel.lims_link.link`."""

from ._moved import forward

__getattr__ = forward(__name__, "smartlab_kernel.lims_link.link")

"""Deprecated path: moved to :mod:`smartlab_kernel.campaign.stored_runs`."""

from ._moved import forward

__getattr__ = forward(__name__, "smartlab_kernel.campaign.stored_runs")

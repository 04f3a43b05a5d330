"""smartlab_kernel: a Jupyter-native toolkit for smart and self-driving laboratories."""

from typing import Any

from ._version import __version__
from .session import Lab

# The layers above the Lab core register what they attach to it (a room, a
# LIMS, a served lab's client, a published bundle); importing them here makes
# Lab.simulated(room=..., lims=...), Lab.connect(...) and Lab.from_bundle(...)
# work for every user (see session/attachments.py).
from . import lims_link, management, publish, remote  # noqa: F401  (isort: skip)

__all__ = ["Lab", "__version__", "load_ipython_extension"]


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext smartlab_kernel``: connect the lab and register the magics."""
    from .kernel import load_ipython_extension as load

    load(ipython)

"""smartlab_kernel: a Jupyter-native toolkit for smart and self-driving laboratories."""

from ._version import __version__
from .session import Lab

__all__ = ["Lab", "__version__"]

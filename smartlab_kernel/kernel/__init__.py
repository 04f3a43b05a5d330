"""Jupyter integration: ``connect()``, the IPython extension and magics, the kernelspec."""

from .config import LabConfig
from .connect import connect
from .extension import load_ipython_extension, namespace, unload_ipython_extension
from .kernelspec import DISPLAY_NAME, KERNEL_NAME, install_kernelspec, kernel_json
from .magics import ExperimentFailed, LabMagics

__all__ = [
    "DISPLAY_NAME",
    "KERNEL_NAME",
    "ExperimentFailed",
    "LabConfig",
    "LabMagics",
    "connect",
    "install_kernelspec",
    "kernel_json",
    "load_ipython_extension",
    "namespace",
    "unload_ipython_extension",
]

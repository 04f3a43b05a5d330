"""Old import paths of what moved out of ``session/``: they still work, with a warning.

``session/`` holds the Lab core only. Campaigns moved to
:mod:`smartlab_kernel.campaign`, the room and safety to
:mod:`smartlab_kernel.management`, the LIMS link to
:mod:`smartlab_kernel.lims_link`, the served-lab client to
:mod:`smartlab_kernel.remote`. Each old module forwards a name it is asked
for to the new place, by name at that moment (never by an import statement,
so the Lab core does not import the layers above it), with a
``DeprecationWarning`` that says where to import it from.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from typing import Any


def forward(old: str, new: str) -> Callable[[str], Any]:
    """A module ``__getattr__`` that hands out ``new``'s names from the old module ``old``."""

    def __getattr__(name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        target = importlib.import_module(new)
        try:
            value = getattr(target, name)
        except AttributeError:
            raise AttributeError(f"module {old!r} has no attribute {name!r}") from None
        warnings.warn(
            f"{old}.{name} moved: import it from {new} (the old path will be removed)",
            DeprecationWarning,
            stacklevel=2,
        )
        return value

    return __getattr__

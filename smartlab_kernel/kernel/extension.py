"""The IPython extension: ``%load_ext smartlab_kernel`` (the Smart Lab kernel loads it)."""

from __future__ import annotations

import logging
import os
from typing import Any

from .connect import MissingLab, connect
from .magics import LabMagics
from .namespace import namespace
from .tracebacks import ToLabLog, show_short_traceback

#: The handler :func:`load_ipython_extension` put on bluesky's logger, if any.
_bluesky_handler: ToLabLog | None = None


def load_ipython_extension(ipython: Any) -> None:
    """Connect the lab, fill the namespace, register the magics, and shorten tracebacks.

    Tiled's progress bars are off unless ``TILED_SHOW_PROGRESS`` says otherwise.
    If the lab cannot be opened (e.g. another notebook's kernel holds its
    directory), ``lab`` is a :class:`~smartlab_kernel.kernel.connect.MissingLab`
    that says why when used, and ``%lab open`` opens one.

    An error from inside smartlab_kernel or bluesky is shown from the user's
    cell, and bluesky's own warnings go to the lab's log file, not to the
    notebook (see :mod:`smartlab_kernel.kernel.tracebacks`).
    """
    # A read from the lab's own catalog takes a moment: no "Fetching" progress bar per read.
    os.environ.setdefault("TILED_SHOW_PROGRESS", "0")
    lab: Any
    try:
        lab = connect()
    except Exception as exc:  # the kernel still starts: `%lab open DIRECTORY` opens a lab
        lab = MissingLab(
            f"the kernel could not open its lab ({type(exc).__name__}: {exc}); "
            "open one with %lab open DIRECTORY"
        )
    ipython.push(namespace(lab))
    ipython.register_magics(LabMagics(ipython, lab))
    ipython.set_custom_exc((Exception,), show_short_traceback)
    global _bluesky_handler
    if _bluesky_handler is None:
        _bluesky_handler = ToLabLog(ipython)
        logging.getLogger("bluesky").addHandler(_bluesky_handler)


def unload_ipython_extension(ipython: Any) -> None:
    """Close the lab (its data is shipped first) and show tracebacks as IPython does."""
    ipython.set_custom_exc((), None)
    global _bluesky_handler
    if _bluesky_handler is not None:
        logging.getLogger("bluesky").removeHandler(_bluesky_handler)
        _bluesky_handler = None
    lab = ipython.user_ns.get("lab")
    if lab is not None:
        lab.close()

"""A full disk on purpose: journal writes fail with ``ENOSPC`` until space is "freed"."""

from __future__ import annotations

import errno
import threading
from typing import Any

from ..storage.journal import JournalFile


class FullDisk:
    """Make every journal append in this process fail as on a full disk.

    Use as a context manager, or call :meth:`fill` and :meth:`free` to switch
    the fault on and off mid-run::

        disk = FullDisk()
        disk.fill()      # the next document cannot be journaled
        ...              # a lab pauses the run and holds the documents
        disk.free()      # space is back: lab.resume() writes them and goes on

    Only :class:`~smartlab_kernel.storage.JournalFile` appends are affected,
    so the catalog server and everything else keep working.
    """

    def __init__(self) -> None:
        self._full = threading.Event()
        self._original: Any = None
        self.refused = 0

    def fill(self) -> None:
        """From now on, journal appends fail with ``OSError(ENOSPC)``."""
        if self._original is None:
            self._original = JournalFile.append
            disk = self

            def append(file: JournalFile, seq: int, name: str, doc: dict[str, Any]) -> None:
                if disk._full.is_set():
                    disk.refused += 1
                    raise OSError(errno.ENOSPC, "No space left on device (FullDisk)")
                disk._original(file, seq, name, doc)

            JournalFile.append = append  # type: ignore[method-assign,assignment]
        self._full.set()

    def free(self) -> None:
        """Appends succeed again (the patch stays until :meth:`restore`)."""
        self._full.clear()

    def restore(self) -> None:
        """Remove the patch entirely."""
        self._full.clear()
        if self._original is not None:
            JournalFile.append = self._original  # type: ignore[method-assign]
            self._original = None

    def __enter__(self) -> FullDisk:
        self.fill()
        return self

    def __exit__(self, *exc: object) -> None:
        self.restore()


__all__ = ["FullDisk"]

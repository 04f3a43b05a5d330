"""The served lab's own folders and files, created private (issue 16 item 9).

Journals hold every student's documents, the key databases hold key
hashes, the data folder holds every run's data: none of it is for other
local users. The lab's processes (``smartlab serve`` and the services it
starts) create everything under the configuration's ``umask`` (0o077 by
default: files 0600, folders 0700), and the lab's top folders are set to
that mode at every start, so what an older version left readable is closed
too (a 0700 folder cannot be entered by anybody else).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO


def private_dir(path: Path, umask: int) -> Path:
    """Create ``path`` (and missing parents) and set its mode to ``0o777 & ~umask``; return it."""
    mode = 0o777 & ~umask
    path.mkdir(parents=True, exist_ok=True, mode=mode)
    path.chmod(mode)
    return path


def open_private(path: Path, umask: int, flags: int = os.O_WRONLY | os.O_APPEND) -> IO[bytes]:
    """Open ``path`` for appending bytes, created as ``0o666 & ~umask`` (an existing file too)."""
    mode = 0o666 & ~umask
    fd = os.open(path, flags | os.O_CREAT, mode)
    os.fchmod(fd, mode)
    return os.fdopen(fd, "ab")

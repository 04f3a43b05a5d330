"""One writer per lab directory: an OS lock that a crash releases.

Two processes writing one lab directory would each recover (and close as
crashed) the other's live journal, and a finished run could be lost. The
writer holds an exclusive ``flock`` on ``<directory>/lab.lock`` for as long
as its lab is open; the kernel drops the lock when the process ends, however
it ends (``kill -9`` included), so there is no stale lock to clean up. The
file also says who holds it (pid, host, since when, command), for the error
a second opener gets.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

from .errors import StorageError

LOCK_NAME = "lab.lock"


class LabInUseError(StorageError):
    """The lab directory is open for writing in another lab (this process or another).

    Attributes:
        holder: What the lock file says of the holder (pid, host, since, command).
    """

    def __init__(self, message: str, holder: dict[str, Any]) -> None:
        super().__init__(message)
        self.holder = holder


class LabDirectoryLock:
    """An exclusive lock on a lab directory, held from :meth:`acquire` to :meth:`release`.

    Args:
        directory: The lab directory (created if missing).
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.path = self.directory / LOCK_NAME
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """True while this object holds the lock."""
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock, or raise naming who holds it.

        Raises:
            LabInUseError: If another open lab holds it.
        """
        if self._fd is not None:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            _lock(fd)
        except OSError:
            holder = _read_holder(fd)
            os.close(fd)
            raise LabInUseError(
                f"the lab directory {self.directory} is in use by another open lab "
                f"({describe_holder(holder)}). Close that lab first, or open this one "
                "read-only: Lab.simulated(..., read_only=True) or Lab(..., read_only=True).",
                holder,
            ) from None
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": time.time(),
            "command": " ".join(sys.argv)[:200],
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode(), 0)
        os.fsync(fd)
        self._fd = fd

    def release(self) -> None:
        """Give the lock up (idempotent). The file stays; it says nothing without a lock."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the descriptor drops the flock

    def holder(self) -> dict[str, Any]:
        """What the lock file says of its last holder (``{}`` if nothing)."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return {}
        try:
            return _read_holder(fd)
        finally:
            os.close(fd)


def describe_holder(holder: dict[str, Any]) -> str:
    """``"pid 123 on host lab-pc since 2026-12-04 15:12:31 (python run.py)"``."""
    if not holder:
        return "holder unknown"
    since = holder.get("since")
    when = (
        time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(since)))
        if isinstance(since, int | float)
        else "an unknown time"
    )
    command = f" ({holder['command']})" if holder.get("command") else ""
    return f"pid {holder.get('pid', '?')} on host {holder.get('host', '?')} since {when}{command}"


def _read_holder(fd: int) -> dict[str, Any]:
    try:
        found = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _lock(fd: int) -> None:
    """Take an exclusive, non-blocking OS lock on ``fd``; OSError if it is held."""
    if sys.platform == "win32":  # pragma: no cover - the lab machines are Linux
        import msvcrt

        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    else:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

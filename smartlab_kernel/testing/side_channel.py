"""A side channel: which events a process had emitted when it died."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class EventSideChannel:
    """A document subscriber that appends ``<run uid> <seq_num>`` lines to a file per event.

    Subscribe it *after* the durable capture, so a line is written only once
    the event is in the journal: after a ``kill -9``, every line names an
    event that recovery must put in the catalog. Each line is one
    ``write`` on an ``O_APPEND`` descriptor, so it is in the file as soon as
    the call returns, even if the process is killed right after.

    Args:
        path: File to append to (created if missing).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._run = ""

    def __call__(self, name: str, doc: dict[str, Any]) -> None:
        """Record an event (the RunEngine calls this)."""
        if name == "start":
            self._run = str(doc["uid"])
        elif name == "event":
            os.write(self._fd, f"{self._run} {int(doc['seq_num'])}\n".encode())
        elif name == "event_page":
            lines = "".join(f"{self._run} {int(s)}\n" for s in doc["seq_num"])
            os.write(self._fd, lines.encode())

    def close(self) -> None:
        """Close the file (idempotent)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


@dataclass(frozen=True)
class SideChannelRecord:
    """What a side-channel file says was emitted.

    Attributes:
        runs: Run uid -> event sequence numbers, in the order written.
    """

    runs: dict[str, list[int]]

    @property
    def total(self) -> int:
        """Events recorded, over every run."""
        return sum(len(s) for s in self.runs.values())


def read_side_channel(path: str | Path) -> SideChannelRecord:
    """Read a file written by :class:`EventSideChannel`, ignoring a cut-short last line."""
    runs: dict[str, list[int]] = {}
    path = Path(path)
    if not path.exists():
        return SideChannelRecord(runs)
    for line in path.read_text().splitlines(keepends=True):
        if not line.endswith("\n"):
            break
        run, seq = line.split()
        runs.setdefault(run, []).append(int(seq))
    return SideChannelRecord(runs)


def count_side_channel_events(path: str | Path) -> int:
    """Return how many complete lines a side-channel file holds (0 if it does not exist)."""
    try:
        return Path(path).read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0

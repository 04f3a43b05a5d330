"""Anchors of the audit chain's head, kept outside the audit table.

A hash chain shows any edit of an entry, but not the loss of the newest
entries: what is left is a valid chain on its own. So the head (``seq`` and
``hash`` of the newest entry) is also recorded elsewhere, and verification
checks the table against those records:

* the **head file**: every committed transaction that wrote audit entries
  appends its head as one JSON line (``{"seq": 12, "hash": "..."}``). For a
  SQLite database it is ``<database file>.audit-head`` beside it; for
  PostgreSQL it is a file the writer is given (a lab keeps one in its
  directory). Appending (``O_APPEND``, one ``write``) never rewrites older
  heads, so a chain cut back and extended past an old head still fails at
  that head; a torn last line (a crash mid-write) is ignored;
* the **start document** of each run of a lab with a LIMS
  (``lims_audit_head``), which lives in the data catalog, another store.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

#: Suffix of the head file beside a SQLite database.
HEAD_FILE_SUFFIX = ".audit-head"
_HASH = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, order=True)
class AuditHead:
    """The newest audit entry at some moment: its ``seq`` and chain ``hash``.

    Attributes:
        seq: Position of the entry in the chain (from 1).
        hash: Its chain hash (64 hex characters).
    """

    seq: int
    hash: str

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"seq": ..., "hash": ...}`` (as in a start document)."""
        return {"seq": self.seq, "hash": self.hash}

    @classmethod
    def from_dict(cls, value: Mapping[str, Any]) -> AuditHead:
        """Read a head from ``{"seq": ..., "hash": ...}``.

        Raises:
            ValueError: ``seq`` is not a positive integer or ``hash`` not 64 hex digits.
        """
        seq, digest = value.get("seq"), value.get("hash")
        if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
            raise ValueError(f"an audit head needs a positive integer seq, got {seq!r}")
        if not isinstance(digest, str) or not _HASH.match(digest):
            raise ValueError(f"an audit head needs a 64-hex-digit hash, got {digest!r}")
        return cls(seq, digest)

    @classmethod
    def from_json(cls, line: str) -> AuditHead:
        """Read a head from one JSON line of a head file.

        Raises:
            ValueError: The line is not such a head.
        """
        value = json.loads(line)
        if not isinstance(value, dict):
            raise ValueError(f"an audit head line must be a JSON object, got {line!r}")
        return cls.from_dict(value)

    @classmethod
    def parse(cls, text: str) -> AuditHead:
        """Read ``SEQ:HASH`` (as given on the command line).

        Raises:
            ValueError: ``text`` is not of that form.
        """
        seq, _, digest = text.partition(":")
        try:
            number = int(seq)
        except ValueError:
            raise ValueError(f"expected SEQ:HASH (e.g. 12:3f9c...), got {text!r}") from None
        return cls.from_dict({"seq": number, "hash": digest.strip().lower()})

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash}"


def default_head_file(url: sa.URL) -> Path | None:
    """Return the head file beside a SQLite database file, or ``None`` (PostgreSQL, memory)."""
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(str(Path(url.database).expanduser()) + HEAD_FILE_SUFFIX)


def append_head(path: Path, head: AuditHead) -> None:
    """Append ``head`` to a head file as one JSON line, in one ``write``.

    Args:
        path: The head file (created, with its folder, if missing).
        head: The head just committed.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(head.to_dict(), sort_keys=True) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def read_heads(path: Path) -> tuple[list[AuditHead], list[str]]:
    """Read every head of a head file.

    Args:
        path: The head file.

    Returns:
        The heads, and a description of each line that is not a head (a
        torn last line, written when a process died, is left out silently).

    Raises:
        OSError: The file cannot be read (``FileNotFoundError`` if missing).
    """
    lines = path.read_text(encoding="utf-8", errors="replace").split("\n")
    heads: list[AuditHead] = []
    bad: list[str] = []
    last = len(lines) - 1
    for number, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            heads.append(AuditHead.from_json(line))
        except ValueError:
            if number == last:  # no newline yet: torn by a crash mid-write
                continue
            bad.append(f"head file {path}, line {number + 1} is not an audit head: {line[:80]!r}")
    return heads, bad

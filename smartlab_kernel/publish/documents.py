"""A run's Bluesky documents in open formats: JSON lines, and its streams as tables.

The documents come from the lab's journal (``journal/shipped/<uid>.jnl``,
the exact documents the RunEngine emitted); numpy arrays become JSON lists
and read back as lists (tiled stores them as arrays again, with the
descriptor's dtype and shape). Each stream is also written as a table, one
row per event (``seq_num``, ``time`` and the data keys): Parquet with array
columns as lists, and CSV with the scalar columns only.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..storage import read_journal
from .errors import BundleError

#: The documents of a run, one ``[name, doc]`` JSON array per line, in the order emitted.
DOCUMENTS_NAME = "documents.jsonl"

Document = tuple[str, dict[str, Any]]


def journal_documents(lab_directory: Path, uid: str) -> list[Document]:
    """The documents of run ``uid`` as its lab's journal holds them, in order.

    Raises:
        BundleError: If the journal has no complete record of the run (no file,
            a damaged record, or no stop document yet), naming the file.
    """
    path = lab_directory / "journal" / "shipped" / f"{uid}.jnl"
    if not path.is_file():
        pending = lab_directory / "journal" / "pending" / f"{uid}.jnl"
        state = "still being written or shipped" if pending.is_file() else "not in the journal"
        raise BundleError(
            f"run {uid} is {state} ({path} missing); wait for the lab to ship it "
            "(lab.wait()) before publishing"
        )
    contents = read_journal(path)
    if contents.damaged:
        raise BundleError(
            f"the journal of run {uid} ({path}) is damaged: "
            + "; ".join(region.describe() for region in contents.damaged)
        )
    documents = [(str(record[1]), dict(record[2])) for record in contents.records]
    if not documents or documents[-1][0] != "stop":
        raise BundleError(f"run {uid} has no stop document in {path}: it has not ended")
    return documents


def jsonable(value: Any) -> Any:
    """``value`` with numpy arrays and scalars as lists and Python numbers (tuples as lists)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    return value


def write_documents(path: Path, documents: Iterable[Document]) -> None:
    """Write documents as JSON lines (a non-finite number as ``NaN`` or ``Infinity``)."""
    with path.open("w") as file:
        for name, doc in documents:
            file.write(json.dumps([name, jsonable(doc)], sort_keys=True) + "\n")


def read_documents(path: Path) -> list[Document]:
    """The documents :func:`write_documents` wrote.

    Raises:
        BundleError: If a line is not a ``[name, document]`` pair, naming the line.
    """
    documents = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        try:
            name, doc = json.loads(line)
        except (json.JSONDecodeError, ValueError) as exc:
            raise BundleError(
                f"{path}, line {number}: not a [name, document] pair ({exc})"
            ) from exc
        documents.append((str(name), doc))
    return documents


def stream_tables(documents: Iterable[Document]) -> dict[str, pd.DataFrame]:
    """Each stream of a run as a table: one row per event, ``seq_num``, ``time`` and its data."""
    names: dict[str, str] = {}
    rows: dict[str, list[dict[str, Any]]] = {}
    for name, doc in documents:
        if name == "descriptor":
            names[str(doc["uid"])] = str(doc.get("name", "primary"))
        elif name == "event":
            stream = names.get(str(doc["descriptor"]), "unknown")
            rows.setdefault(stream, []).append(
                {"seq_num": doc["seq_num"], "time": doc["time"], **jsonable(doc["data"])}
            )
        elif name == "event_page":
            stream = names.get(str(doc["descriptor"]), "unknown")
            data = jsonable(doc["data"])
            for i, seq in enumerate(doc["seq_num"]):
                row = {"seq_num": seq, "time": doc["time"][i]}
                row.update({key: values[i] for key, values in data.items()})
                rows.setdefault(stream, []).append(row)
    return {stream: pd.DataFrame(found) for stream, found in rows.items()}


def write_tables(folder: Path, tables: dict[str, pd.DataFrame]) -> list[str]:
    """Write each table as ``<stream>.parquet`` and (its scalar columns) ``<stream>.csv``.

    Returns:
        The names of the files written.
    """
    written = []
    for stream, table in tables.items():
        table.to_parquet(folder / f"{stream}.parquet", index=False)
        scalars = [c for c in table.columns if not table[c].map(_is_array).any()]
        table[scalars].to_csv(folder / f"{stream}.csv", index=False)
        written += [f"{stream}.parquet", f"{stream}.csv"]
    return written


def _is_array(value: Any) -> bool:
    return isinstance(value, list | tuple | dict | np.ndarray)


def finite_or_none(value: Any) -> float | None:
    """``value`` as a float, or ``None`` if it is not a finite number."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


__all__ = [
    "DOCUMENTS_NAME",
    "Document",
    "finite_or_none",
    "journal_documents",
    "jsonable",
    "read_documents",
    "stream_tables",
    "write_documents",
    "write_tables",
]

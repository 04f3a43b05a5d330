"""RO-Crate 1.1 packaging: tables as CSV + Parquet with a JSON-LD manifest."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ._util import utc_now

MANIFEST_NAME = "ro-crate-metadata.json"
RO_CRATE_CONTEXT = "https://w3id.org/ro/crate/1.1/context"
RO_CRATE_SPEC = "https://w3id.org/ro/crate/1.1"
CSV_MEDIA_TYPE = "text/csv"
PARQUET_MEDIA_TYPE = "application/vnd.apache.parquet"
_TABLE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")


def write_crate(
    directory: str | Path,
    tables: Mapping[str, pd.DataFrame],
    *,
    name: str,
    description: str,
    descriptions: Mapping[str, str] | None = None,
) -> Path:
    """Write tables as CSV and Parquet with an RO-Crate 1.1 manifest.

    Args:
        directory: Where to write (created if missing).
        tables: Table name -> DataFrame.
        name: Name of the dataset in the manifest.
        description: Its description.
        descriptions: Optional description per table.

    Returns:
        Path of ``ro-crate-metadata.json``.

    Raises:
        ValueError: A table name is not a plain file-name stem.
    """
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    descriptions = descriptions or {}
    files: list[dict[str, Any]] = []
    for table, frame in tables.items():
        if not _TABLE_NAME.match(table):
            raise ValueError(f"table name {table!r} must match {_TABLE_NAME.pattern}")
        frame.to_csv(root / f"{table}.csv", index=False)
        frame.to_parquet(root / f"{table}.parquet", index=False)
        for suffix, media_type in ((".csv", CSV_MEDIA_TYPE), (".parquet", PARQUET_MEDIA_TYPE)):
            path = root / f"{table}{suffix}"
            files.append(
                {
                    "@id": path.name,
                    "@type": "File",
                    "name": f"{table} ({suffix[1:]})",
                    "description": descriptions.get(table, f"{table} table"),
                    "encodingFormat": media_type,
                    "contentSize": str(path.stat().st_size),
                }
            )
    graph: list[dict[str, Any]] = [
        {
            "@id": MANIFEST_NAME,
            "@type": "CreativeWork",
            "conformsTo": {"@id": RO_CRATE_SPEC},
            "about": {"@id": "./"},
        },
        {
            "@id": "./",
            "@type": "Dataset",
            "name": name,
            "description": description,
            "datePublished": utc_now(),
            "hasPart": [{"@id": f["@id"]} for f in files],
        },
        *files,
    ]
    manifest = root / MANIFEST_NAME
    manifest.write_text(json.dumps({"@context": RO_CRATE_CONTEXT, "@graph": graph}, indent=2))
    return manifest


def read_crate(directory: str | Path) -> dict[str, pd.DataFrame]:
    """Read back the Parquet tables listed in a crate's manifest.

    Args:
        directory: A directory written by :func:`write_crate`.

    Returns:
        Table name -> DataFrame.
    """
    root = Path(directory)
    graph = json.loads((root / MANIFEST_NAME).read_text())["@graph"]
    return {
        Path(entity["@id"]).stem: pd.read_parquet(root / entity["@id"])
        for entity in graph
        if entity.get("encodingFormat") == PARQUET_MEDIA_TYPE
    }

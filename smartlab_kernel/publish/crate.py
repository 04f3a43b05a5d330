"""An RO-Crate 1.1 description of a bundle, so repositories and crate tools can read it.

``ro-crate-metadata.json`` at the bundle's top describes the bundle as a
Dataset and each file (its format and size). It is written before the
manifest, so the manifest's sha256 covers it; ``manifest.json`` itself is
listed without a size.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

from ..lims.crate import MANIFEST_NAME as CRATE_NAME
from ..lims.crate import RO_CRATE_CONTEXT, RO_CRATE_SPEC
from .manifest import MANIFEST_NAME, bundle_files

#: Media type of each file suffix in a bundle.
MEDIA_TYPES = {
    ".ipynb": "application/x-ipynb+json",
    ".json": "application/json",
    ".jsonl": "application/x-ndjson",
    ".parquet": "application/vnd.apache.parquet",
    ".csv": "text/csv",
}


def write_bundle_crate(root: Path, title: str, description: str) -> Path:
    """Write ``ro-crate-metadata.json`` describing every file now in ``root``.

    Returns:
        Its path.
    """
    files: list[dict[str, Any]] = [
        {
            "@id": name,
            "@type": "File",
            "encodingFormat": MEDIA_TYPES.get(Path(name).suffix, "application/octet-stream"),
            "contentSize": str((root / name).stat().st_size),
        }
        for name in bundle_files(root)
        if name != CRATE_NAME
    ]
    files.append(
        {
            "@id": MANIFEST_NAME,
            "@type": "File",
            "encodingFormat": MEDIA_TYPES[".json"],
            "description": "the sha256 of every other file of the bundle",
        }
    )
    graph: list[dict[str, Any]] = [
        {
            "@id": CRATE_NAME,
            "@type": "CreativeWork",
            "conformsTo": {"@id": RO_CRATE_SPEC},
            "about": {"@id": "./"},
        },
        {
            "@id": "./",
            "@type": "Dataset",
            "name": title,
            "description": description,
            "datePublished": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "hasPart": [{"@id": f["@id"]} for f in files],
        },
        *files,
    ]
    path = root / CRATE_NAME
    path.write_text(json.dumps({"@context": RO_CRATE_CONTEXT, "@graph": graph}, indent=1) + "\n")
    return path


__all__ = ["MEDIA_TYPES", "write_bundle_crate"]

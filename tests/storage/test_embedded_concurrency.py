"""The embedded catalog takes a user's reads while the lab writes, side by side.

Its tables are in one DuckDB file, and tiled shares DuckDB's single
connection among its request threads: two table requests at once failed
with 500 ("Attempting to execute an unsuccessful or closed pending query
result") or timed out. A notebook reading runs while the shipper writes
them is the everyday case of that.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from tiled.client import from_uri

from smartlab_kernel.storage import EmbeddedCatalog
from smartlab_kernel.testing.table_writers import write_tables_side_by_side

WRITERS = 6
APPENDS = 8


def test_tables_written_and_read_side_by_side_all_land(tmp_path: Path) -> None:
    catalog = EmbeddedCatalog(tmp_path / "catalog")
    try:
        scratch = catalog.root.create_container(key=f"concurrency-{uuid.uuid4().hex[:8]}")
        key = scratch.item["id"]
        errors = write_tables_side_by_side(lambda: from_uri(catalog.uri), key, WRITERS, APPENDS)
        assert errors == []
        node = from_uri(catalog.uri)[key]
        for index in range(WRITERS):
            assert node[f"t{index}"].read()["seq_num"].tolist() == list(range(APPENDS))
    finally:
        catalog.close()

"""The served catalog keeps runs' tables in PostgreSQL and takes writes side by side.

Its tables used to be in one DuckDB file, whose single connection the tiled
server's request threads shared: runs written side by side (several
shippers, or a student reading while the lab writes) crashed the server
(SIGSEGV, SIGABRT) and failed requests with 500.
"""

from __future__ import annotations

import uuid

from tiled.client import from_uri

from smartlab_kernel.serve.sandbox import Sandbox
from smartlab_kernel.testing.table_writers import write_tables_side_by_side

WRITERS = 6
APPENDS = 8


def test_tables_are_in_postgresql_and_concurrent_writes_all_land(sandbox: Sandbox) -> None:
    client = from_uri(sandbox.config.catalog_url, api_key=sandbox.keys["ta"])
    scratch = client.create_container(key=f"concurrency-{uuid.uuid4().hex[:8]}")
    errors = write_tables_side_by_side(
        lambda: from_uri(sandbox.config.catalog_url, api_key=sandbox.keys["ta"]),
        scratch.item["id"],
        WRITERS,
        APPENDS,
    )
    assert errors == []
    fresh = from_uri(sandbox.config.catalog_url, api_key=sandbox.keys["ta"])
    node = fresh[scratch.item["id"]]
    for index in range(WRITERS):
        stored = node[f"t{index}"].read()
        assert stored["seq_num"].tolist() == list(range(APPENDS))
    assets = node["t0"].data_sources()[0].assets
    assert assets[0].data_uri.startswith("postgresql://"), assets[0].data_uri

"""The served catalog keeps runs' tables in PostgreSQL and takes writes side by side.

Its tables used to be in one DuckDB file, whose single connection the tiled
server's request threads shared: runs written side by side (several
shippers, or a student reading while the lab writes) crashed the server
(SIGSEGV, SIGABRT) and failed requests with 500.
"""

from __future__ import annotations

import threading
import uuid

import pyarrow
from tiled.client import from_uri

from smartlab_kernel.serve.sandbox import Sandbox

WRITERS = 6
APPENDS = 8


def test_tables_are_in_postgresql_and_concurrent_writes_all_land(sandbox: Sandbox) -> None:
    client = from_uri(sandbox.config.catalog_url, api_key=sandbox.keys["ta"])
    scratch = client.create_container(key=f"concurrency-{uuid.uuid4().hex[:8]}")
    errors: list[BaseException] = []
    schema = pyarrow.schema([("seq_num", pyarrow.int64()), ("value", pyarrow.float64())])

    def write(index: int) -> None:
        try:
            own = from_uri(sandbox.config.catalog_url, api_key=sandbox.keys["ta"])
            table = own[scratch.item["id"]].create_appendable_table(schema, key=f"t{index}")
            for seq in range(APPENDS):
                rows = pyarrow.table({"seq_num": [seq], "value": [index + seq / 10]})
                table.append_partition(0, rows)
                own[scratch.item["id"]][f"t{index}"].read()  # a reader among the writers
        except BaseException as exc:  # collected: a thread's error must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    fresh = from_uri(sandbox.config.catalog_url, api_key=sandbox.keys["ta"])
    node = fresh[scratch.item["id"]]
    for index in range(WRITERS):
        stored = node[f"t{index}"].read()
        assert stored["seq_num"].tolist() == list(range(APPENDS))
    assets = node["t0"].data_sources()[0].assets
    assert assets[0].data_uri.startswith("postgresql://"), assets[0].data_uri

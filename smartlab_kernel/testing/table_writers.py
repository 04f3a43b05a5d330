"""Write tables side by side into one tiled container, each writer reading back as it goes.

Used to show a catalog takes concurrent table requests (tiled shared
DuckDB's single connection among its request threads: 500s and crashes).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pyarrow

SCHEMA = pyarrow.schema([("seq_num", pyarrow.int64()), ("value", pyarrow.float64())])


def write_tables_side_by_side(
    connect: Callable[[], Any], key: str, writers: int, appends: int
) -> list[BaseException]:
    """Each of ``writers`` threads makes table ``t<i>`` in container ``key`` and appends to it.

    After each of its ``appends`` one-row appends, a writer reads its table
    back (a reader among the writers).

    Args:
        connect: Returns a new tiled client whose ``[key]`` is the container.
        key: The container's key.
        writers: How many threads write at once.
        appends: Rows each writer appends, one request each (``seq_num`` 0, 1, ...).

    Returns:
        The errors the threads met (empty if every request succeeded).
    """
    errors: list[BaseException] = []

    def write(index: int) -> None:
        try:
            own = connect()
            table = own[key].create_appendable_table(SCHEMA, key=f"t{index}")
            for seq in range(appends):
                rows = pyarrow.table({"seq_num": [seq], "value": [index + seq / 10]})
                table.append_partition(0, rows)
                own[key][f"t{index}"].read()
        except BaseException as exc:  # collected: a thread's error must fail the caller
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return errors

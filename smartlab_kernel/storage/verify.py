"""Check that the catalog holds every document of a run that the journal holds."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from .errors import VerificationError


def verify_run(node: Any, records: list[tuple[int, str, dict[str, Any]]]) -> None:
    """Compare a stored run with its journal records.

    Checks the start and stop uids, and that each stream holds exactly the
    event sequence numbers the journal holds.

    Args:
        node: The run in the catalog (a tiled container).
        records: ``(seq, name, doc)`` from the run's journal file.

    Raises:
        VerificationError: Naming the first difference found.
    """
    start = next(doc for _, name, doc in records if name == "start")
    stop = next((doc for _, name, doc in records if name == "stop"), None)
    metadata = node.metadata
    if metadata.get("start", {}).get("uid") != start["uid"]:
        raise VerificationError(f"run {start['uid']}: catalog start uid differs from the journal")
    if stop is not None and (metadata.get("stop") or {}).get("uid") != stop["uid"]:
        raise VerificationError(f"run {start['uid']}: catalog has no matching stop document")
    streams = {doc["uid"]: doc["name"] for _, name, doc in records if name == "descriptor"}
    expected: dict[str, list[int]] = defaultdict(list)
    for _, name, doc in records:
        if name == "event":
            expected[streams[doc["descriptor"]]].append(int(doc["seq_num"]))
        elif name == "event_page":
            expected[streams[doc["descriptor"]]].extend(int(s) for s in doc["seq_num"])
    for stream, seq_nums in expected.items():
        if stream not in node:
            raise VerificationError(
                f"run {start['uid']}: stream {stream!r} with {len(seq_nums)} events is missing"
            )
        stored = node[stream].base["internal"].read(["seq_num"])["seq_num"].tolist()
        if sorted(stored) != sorted(seq_nums):
            raise VerificationError(
                f"run {start['uid']}: stream {stream!r} holds {len(stored)} events, "
                f"the journal {len(seq_nums)}"
            )

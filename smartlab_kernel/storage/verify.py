"""Check that the catalog holds every document of a run that the journal holds."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from .errors import VerificationError


def verify_run(node: Any, records: list[tuple[int, str, dict[str, Any]]]) -> None:
    """Compare a stored run with its journal records.

    Checks the start and stop uids, each stream's descriptor uid, and that
    each stream holds exactly the events the journal holds (their sequence
    numbers, in the journal's order). TiledWriter keeps no event uids, so the
    sequence numbers stand for them.

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
    descriptor_uids: dict[str, list[str]] = defaultdict(list)
    for uid, stream in streams.items():
        descriptor_uids[stream].append(uid)
    expected: dict[str, list[int]] = defaultdict(list)
    for _, name, doc in records:
        if name == "event":
            expected[streams[doc["descriptor"]]].append(int(doc["seq_num"]))
        elif name == "event_page":
            expected[streams[doc["descriptor"]]].extend(int(s) for s in doc["seq_num"])
    for stream, seq_nums in expected.items():
        try:
            stream_node = node[stream]  # one request, not one for `in` and one per use
        except KeyError:
            raise VerificationError(
                f"run {start['uid']}: stream {stream!r} with {len(seq_nums)} events is missing"
            ) from None
        stored_uid = stream_node.metadata.get("uid")
        if stored_uid is not None and stored_uid not in descriptor_uids[stream]:
            raise VerificationError(
                f"run {start['uid']}: stream {stream!r} has descriptor {stored_uid}, "
                f"the journal {descriptor_uids[stream]}"
            )
        stored = stream_node.base["internal"].read(["seq_num"])["seq_num"].tolist()
        if sorted(stored) != sorted(seq_nums):
            raise VerificationError(
                f"run {start['uid']}: stream {stream!r} holds {len(stored)} events, "
                f"the journal {len(seq_nums)}"
            )
        if len(descriptor_uids[stream]) == 1 and stored != seq_nums:
            raise VerificationError(
                f"run {start['uid']}: stream {stream!r} holds its events out of the journal's order"
            )

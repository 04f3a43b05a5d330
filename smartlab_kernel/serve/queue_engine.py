"""The queue's RunEngine: every run records who *really* submitted it.

A queue item's ``meta`` comes from the client, so an ``operator`` in it
proves nothing. The queueserver HTTP server, however, sets the item's
``user`` from the caller's API key, and the RE Manager hands that user to
its worker with the plan. :class:`QueueRunEngine` reads it there and writes
it as ``operator`` with the highest precedence bluesky offers (keyword
metadata of the call), so whatever the client put in ``meta`` is replaced.
The served tiled's :class:`~smartlab_kernel.serve.access_policy.RunOwnerAccessPolicy`
relies on this value to show students their own runs only.

How the user is found: the RE Manager's worker is a
``multiprocessing.Process`` (``RunEngineWorker``) that keeps the item it is
running in ``_running_plan_info``; in the worker process,
``multiprocessing.current_process()`` is that object. This is the
queueserver's internal shape (checked against bluesky-queueserver 0.0.25 by
``tests/serve``); if it changes, the runs are recorded as
:data:`UNKNOWN_OPERATOR` (visible to instructors only) rather than under a
name the client chose.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Callable, Mapping
from typing import Any

from bluesky import RunEngine

#: ``operator`` of a run whose submitter could not be determined.
UNKNOWN_OPERATOR = "unknown (not submitted through the queue)"

logger = logging.getLogger(__name__)


def queue_item_user(worker: Any = None) -> str | None:
    """Return the authenticated user of the queue item the RE Manager's worker is running.

    Args:
        worker: The RE Manager's worker (default: this process, which is the
            worker when the queueserver imported the profile).
    """
    if worker is None:
        worker = multiprocessing.current_process()
    info = getattr(worker, "_running_plan_info", None)
    if isinstance(info, Mapping) and isinstance(info.get("user"), str) and info["user"]:
        return str(info["user"])
    return None


class QueueRunEngine(RunEngine):
    """A RunEngine that stamps ``operator`` with the queue item's authenticated user.

    Attributes:
        environment: If set, called at the start of each plan; its dict is recorded
            as the runs' ``environment`` (the room's readings and safety state).
    """

    environment: Callable[[], Mapping[str, Any]] | None = None

    def __call__(self, *args: Any, **metadata_kw: Any) -> Any:
        """Run a plan as ``RunEngine.__call__`` does, with ``operator`` set from the queue item."""
        if self.environment is not None and args:
            try:
                metadata_kw["environment"] = dict(self.environment())
            except Exception as exc:  # a broken sensor must not stop a run from starting
                metadata_kw["environment"] = {"error": f"environment unreadable: {exc}"}
        user = queue_item_user()
        if user is None:
            logger.warning("running a plan with no queue item user: operator=%r", UNKNOWN_OPERATOR)
        claimed = metadata_kw.get("operator")
        metadata_kw["operator"] = user or UNKNOWN_OPERATOR
        if claimed is not None and claimed != metadata_kw["operator"]:
            metadata_kw["claimed_operator"] = claimed
        return super().__call__(*args, **metadata_kw)

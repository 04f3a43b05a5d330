"""Test helpers that ship with the package, so users can test their own plans.

Fault injection (:func:`inject`, :func:`empty_reservoir`), a lab that is
always closed (:func:`simulated_lab`), bench helpers (:func:`plan_devices`,
:func:`reset_bench`), a document collector, and real-process helpers for
crash tests (:func:`kill_process_during_run`, :class:`EventSideChannel`,
:class:`TiledServerProcess`). Pytest fixtures are in
:mod:`smartlab_kernel.testing.pytest_plugin`.
"""

from .bench import PLAN_DEVICE_NAMES, plan_devices, reset_bench
from .components import in_ci, missing_component, require_module
from .disk import FullDisk
from .documents import DocumentCollector
from .faults import empty_reservoir, inject
from .labs import TEST_TIME_SCALE, simulated_lab
from .processes import (
    KillResult,
    TiledServerProcess,
    crash_worker_command,
    free_port,
    kill_process_during_run,
)
from .side_channel import (
    EventSideChannel,
    SideChannelRecord,
    count_side_channel_events,
    read_side_channel,
)

__all__ = [
    "PLAN_DEVICE_NAMES",
    "TEST_TIME_SCALE",
    "DocumentCollector",
    "EventSideChannel",
    "FullDisk",
    "KillResult",
    "SideChannelRecord",
    "TiledServerProcess",
    "count_side_channel_events",
    "crash_worker_command",
    "empty_reservoir",
    "free_port",
    "in_ci",
    "inject",
    "kill_process_during_run",
    "missing_component",
    "plan_devices",
    "read_side_channel",
    "require_module",
    "reset_bench",
    "simulated_lab",
]

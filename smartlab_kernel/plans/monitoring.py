"""Record the lab's environment (room sensors, hoods, HVAC) into its own stream."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import bluesky.plan_stubs as bps
import bluesky.preprocessors as bpp
from ophyd import Device

from ..devices.clock import SimClock
from .measure import Plan

ENVIRONMENT_STREAM = "environment"


def monitor_environment(
    devices: Sequence[Device],
    period_s: float,
    duration_s: float,
    *,
    clock: SimClock | None = None,
    md: Mapping[str, Any] | None = None,
) -> Plan:
    """Read ``devices`` every ``period_s`` for ``duration_s`` into an ``environment`` stream.

    One run with ``floor(duration_s / period_s) + 1`` events, each reading
    every device, in the stream ``"environment"`` (not ``"primary"``), so the
    catalog keeps the room's history beside the experiments. Uses plan stubs
    only: it runs on any RunEngine, including bluesky-queueserver. A
    checkpoint before each reading lets interlocks suspend it cleanly.

    Args:
        devices: Readable devices, e.g. ``[room.sensors, room.hvac, *room.hoods.values()]``.
        period_s: Time between readings (simulated seconds when ``clock`` is
            given, real seconds otherwise).
        duration_s: How long to monitor, in the same units.
        clock: The simulated clock, to convert the period to real sleeps.
        md: Extra start-document metadata.

    Raises:
        ValueError: If there are no devices, or the period or duration is not
            a positive finite number, or the duration is shorter than the period.
    """
    devices = list(devices)
    if not devices:
        raise ValueError("monitor_environment needs at least one device to read")
    for what, value in (("period_s", period_s), ("duration_s", duration_s)):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"{what} must be a number of seconds, got {value!r}")
        if not math.isfinite(value) or value <= 0:
            raise ValueError(f"{what} must be a finite number > 0 seconds, got {value!r}")
    if duration_s < period_s:
        raise ValueError(f"duration_s ({duration_s!r}) must be at least period_s ({period_s!r})")
    readings = int(duration_s // period_s) + 1
    sleep_s = clock.real_seconds(period_s) if clock is not None else float(period_s)
    start_md = {
        "plan_name": "monitor_environment",
        "purpose": "environment monitoring",
        "num_points": readings,
        "monitor": {"period_s": period_s, "duration_s": duration_s, "stream": ENVIRONMENT_STREAM},
        "detectors": [d.name for d in devices],
        **dict(md or {}),
    }

    @bpp.run_decorator(md=start_md)
    def inner() -> Plan:
        for index in range(readings):
            yield from bps.checkpoint()
            yield from bps.trigger_and_read(devices, name=ENVIRONMENT_STREAM)
            if index < readings - 1:
                yield from bps.sleep(sleep_s)

    return (yield from inner())

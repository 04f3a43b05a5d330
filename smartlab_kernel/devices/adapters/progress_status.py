"""A device status that reports partial progress to Bluesky's progress bars."""

from __future__ import annotations

import time
from typing import Any

from ophyd.status import DeviceStatus


class ProgressStatus(DeviceStatus):
    """A :class:`ophyd.status.DeviceStatus` whose owner reports progress as it goes.

    Watchers (``status.watch(callback)``, as used by
    :class:`bluesky.utils.ProgressBar`) receive the keywords Bluesky defines:
    ``name``, ``current``, ``initial``, ``target``, ``unit``, ``fraction``
    (``0`` when done, ``1`` at the start) and ``time_elapsed``.

    Args:
        device: The device doing the work.
        unit: Units of ``current``/``target`` in progress reports.
        **kwargs: Passed to :class:`ophyd.status.DeviceStatus`.
    """

    def __init__(self, device: Any, *, unit: str = "", **kwargs: Any) -> None:
        self.unit = unit
        self.last_progress: dict[str, Any] = {}
        self._started_at = time.monotonic()
        super().__init__(device, **kwargs)

    def report(
        self,
        *,
        current: float | None = None,
        initial: float | None = None,
        target: float | None = None,
        fraction: float | None = None,
    ) -> None:
        """Tell the watchers how far the operation has got.

        Args:
            current: Where it is now (e.g. the temperature).
            initial: Where it started.
            target: Where it is going.
            fraction: Fraction of the work *left*, from 1 (nothing done) to 0 (done).
        """
        if fraction is not None:
            fraction = min(1.0, max(0.0, float(fraction)))
        progress = {
            "name": self.device.name,
            "current": current,
            "initial": initial,
            "target": target,
            "unit": self.unit,
            "fraction": fraction,
            "time_elapsed": time.monotonic() - self._started_at,
        }
        self.last_progress = progress
        for watcher in list(self._watchers):
            watcher(**progress)

    def __str__(self) -> str:
        """Say which device it is and, once failed, why (Bluesky records this as the reason)."""
        name = self.device.name if self.device is not None else "None"
        text = f"{type(self).__name__}(device={name}, done={self.done}, success={self.success})"
        if self.done and not self.success:
            error = self.exception()
            if error is not None:
                text += f": {type(error).__name__}: {error}"
        return text

    __repr__ = __str__

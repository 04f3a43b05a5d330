"""A generic EPICS detector: an acquire PV written with put-completion, and the PVs it updates."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ophyd import Component as Cpt
from ophyd import EpicsSignal, EpicsSignalRO, Signal

from .epics_device import CA_FAILURES, EpicsDeviceBase
from .epics_put import put_with_completion
from .progress_status import ProgressStatus


class EpicsDetectorBase(EpicsDeviceBase):
    """A detector whose acquisition is one write to an acquire PV, as area detectors do.

    ``trigger()`` (``bps.trigger_and_read([detector])``) writes
    ``acquire_value`` to the acquire PV with put-completion; the status
    finishes when the IOC completes the write, which it does when the
    acquisition is over. The read PVs are then read. A write the IOC refuses
    fails the status at once with the IOC's status; one that takes longer
    than ``acquire_timeout`` fails with
    :class:`~smartlab_kernel.devices.errors.DeviceTimeoutError`. Units of
    each reading come from its PV's EGU (in ``describe()``). Build a class
    with :func:`detector_class`.

    Args:
        prefix: PV prefix.
        acquire_value: The value that starts an acquisition.
        acquire_timeout: Seconds one acquisition may take.
        **kwargs: Passed to :class:`ophyd.Device` (``name`` is required).
    """

    #: Names of the read PVs' components, first one hinted.
    read_names: tuple[str, ...] = ()

    def __init__(
        self,
        prefix: str = "",
        *,
        acquire_value: Any = 1,
        acquire_timeout: float = 60.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(prefix, **kwargs)
        self.acquire_value = acquire_value
        self.acquire_timeout = float(acquire_timeout)

    @property
    def primary_readback(self) -> Signal:
        """The first read PV."""
        readback: Signal = getattr(self, self.read_names[0])
        return readback

    def trigger(self) -> ProgressStatus:
        """Acquire once; the status finishes when the IOC completes the acquire write.

        Raises:
            DeviceDisconnectedError: If the IOC is not connected.
        """
        doing = "acquiring"
        self.wait_connected(doing)
        acquire: EpicsSignal = self.acquire
        status = ProgressStatus(self, call_stop_on_failure=False)

        def finished(error: BaseException | None) -> None:
            if error is None:
                status.set_finished()
            else:
                status.set_exception(error)

        try:
            put_with_completion(
                acquire,
                self.acquire_value,
                device=self.name,
                endpoint=self.endpoint(acquire),
                timeout=self.acquire_timeout,
                done=finished,
            )
        except CA_FAILURES as exc:
            raise self.unreachable(acquire, doing, exc) from exc
        return status


def detector_class(
    acquire: str,
    reads: Mapping[str, str],
    *,
    connection_timeout: float = 1.0,
    read_timeout: float = 2.0,
) -> type[EpicsDetectorBase]:
    """Build a detector class: an acquire PV and named read PVs (suffixes of the prefix).

    Args:
        acquire: Suffix of the acquire PV, e.g. ``"ACQUIRE"`` (component ``acquire``, omitted
            from readings).
        reads: Component name -> suffix of each PV read after an acquisition, e.g.
            ``{"counts": "COUNTS"}``; the first is hinted (plotted by default).
        connection_timeout: Seconds to wait for a PV to connect.
        read_timeout: Seconds to wait for a PV to answer a read.

    Raises:
        ValueError: If there are no read PVs, a name is not an identifier or a suffix is empty.
    """
    if not reads:
        raise ValueError("a detector needs at least one read PV, got none")
    timeouts = {"connection_timeout": connection_timeout, "timeout": read_timeout}
    components: dict[str, Any] = {}
    for index, (name, suffix) in enumerate(reads.items()):
        if not name.isidentifier() or name == "acquire" or hasattr(EpicsDetectorBase, name):
            raise ValueError(
                f"read PV name {name!r} must be an identifier that is not 'acquire' or a "
                "name ophyd devices already use (read, trigger, name, ...)"
            )
        if not isinstance(suffix, str) or not suffix:
            raise ValueError(f"read PV {name!r} must be a non-empty string, got {suffix!r}")
        kind = "hinted" if index == 0 else "normal"
        components[name] = Cpt(EpicsSignalRO, suffix, kind=kind, **timeouts)
    if not isinstance(acquire, str) or not acquire:
        raise ValueError(f"the acquire PV must be a non-empty string, got {acquire!r}")
    components["acquire"] = Cpt(EpicsSignal, acquire, kind="omitted", **timeouts)
    components["read_names"] = tuple(reads)
    return type("EpicsDetector", (EpicsDetectorBase,), components)

"""Fault injection on purpose: context managers that switch a fault on and off again."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

from ..devices import FAULT_KINDS, SimulatedDevice, SyringePump

DeviceT = TypeVar("DeviceT", bound=SimulatedDevice)


@contextmanager
def inject(device: DeviceT, kind: str) -> Iterator[DeviceT]:
    """Switch a fault on in ``device`` for the duration of a ``with`` block.

    Example::

        with inject(bench.reactor, "stuck"):
            RE(bps.mv(bench.reactor, 80))  # fails with DeviceTimeoutError

    Args:
        device: A simulated device.
        kind: One of :data:`~smartlab_kernel.devices.FAULT_KINDS` that the device supports
            (``device.faults.allowed``).

    Yields:
        The device, with the fault active.

    Raises:
        ValueError: If ``kind`` is unknown or the device does not support it.
    """
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; known kinds: {sorted(FAULT_KINDS)}")
    device.faults.inject(kind)
    try:
        yield device
    finally:
        device.faults.clear(kind)


@contextmanager
def empty_reservoir(pump: SyringePump, remaining_ml: float = 0.0) -> Iterator[SyringePump]:
    """Leave only ``remaining_ml`` in a pump's reservoir inside a ``with`` block.

    The level it had before is restored on exit (also when the block raises),
    so a test can check that a dispense fails cleanly without touching the
    rest of the bench.

    Args:
        pump: A syringe pump, e.g. ``bench.dispenser.a``.
        remaining_ml: What is left in the reservoir meanwhile (default: nothing).

    Yields:
        The pump.

    Raises:
        LimitError: If ``remaining_ml`` is negative or more than the capacity.
    """
    before = float(pump.remaining.get())
    pump.fill(remaining_ml)
    try:
        yield pump
    finally:
        pump.fill(before)

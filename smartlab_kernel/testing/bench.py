"""Helpers around a simulated bench: the devices plans need, and a clean slate between tests."""

from __future__ import annotations

from typing import Any

from ..devices import SimulatedBench, SimulatedDevice, SyringePump
from ..devices.world import WASTE
from ..session import Lab

#: The keyword arguments of :func:`smartlab_kernel.plans.measure_recipe` that are devices.
PLAN_DEVICE_NAMES: tuple[str, ...] = ("dispenser", "reactor", "robot", "spectrometer")


def _bench_of(target: SimulatedBench | Lab) -> SimulatedBench:
    if isinstance(target, SimulatedBench):
        return target
    if target.bench is None:
        raise ValueError("this lab has no simulated bench; build it with Lab.simulated(...)")
    return target.bench


def plan_devices(target: SimulatedBench | Lab) -> dict[str, Any]:
    """Return ``{"dispenser": ..., "reactor": ..., "robot": ..., "spectrometer": ...}``.

    Pass it to the recipe plans: ``measure_recipe(recipe, **plan_devices(lab))``.

    Args:
        target: A simulated bench, or a lab built with :meth:`Lab.simulated`.

    Raises:
        ValueError: If a lab has no simulated bench.
    """
    bench = _bench_of(target)
    return {name: bench.devices[name] for name in PLAN_DEVICE_NAMES}


def reset_bench(target: SimulatedBench | Lab) -> None:
    """Put a bench back in a known state: no faults, full reservoirs, every station empty.

    Vials left at stations (for example by a plan that failed half-way) go to
    ``waste``; pending device operations are cancelled.

    Args:
        target: A simulated bench, or a lab built with :meth:`Lab.simulated`.

    Raises:
        ValueError: If a lab has no simulated bench.
    """
    bench = _bench_of(target)
    for device in bench.devices.values():
        for node in _simulated(device):
            node.faults.clear()
            node.stop()
            if isinstance(node, SyringePump):
                node.fill()
    world = bench.world
    with world.lock:
        for station in list(world.occupied()):
            world.move(station, WASTE)


def _simulated(device: Any) -> list[SimulatedDevice]:
    """Return ``device`` and every simulated device below it."""
    found = [device] if isinstance(device, SimulatedDevice) else []
    for name in getattr(device, "component_names", ()):
        found.extend(_simulated(getattr(device, name)))
    return found

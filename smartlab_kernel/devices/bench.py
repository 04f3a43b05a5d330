"""Build a whole simulated bench: dispenser, reactor, spectrometer and robot."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ophyd import Device

from .dispenser import Dispenser, make_dispenser_class
from .reactor import Reactor
from .response import ResponseModel, response_settings
from .robot import Robot
from .spectrometer import Spectrometer
from .world import BenchWorld

DEFAULT_STOCKS: dict[str, float] = {"a": 50.0, "b": 50.0, "solvent": 100.0}


@dataclass
class SimulatedBench:
    """A simulated self-driving-lab bench.

    Attributes:
        world: The shared clock, random generator and stations.
        devices: Device name -> ophyd device.
        settings: How the bench was built (seed, time scale, stocks, ...), so it
            can be recorded in run metadata and rebuilt.
    """

    world: BenchWorld
    devices: dict[str, Device]
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def dispenser(self) -> Dispenser:
        """The stock-solution dispenser."""
        return self.devices["dispenser"]

    @property
    def reactor(self) -> Reactor:
        """The reactor / hotplate."""
        return self.devices["reactor"]

    @property
    def spectrometer(self) -> Spectrometer:
        """The UV-vis spectrometer."""
        return self.devices["spectrometer"]

    @property
    def robot(self) -> Robot:
        """The sample-handling robot."""
        return self.devices["robot"]


def build_bench(
    seed: int = 0,
    time_scale: float = 1.0,
    stocks: Mapping[str, float] | None = None,
    response: ResponseModel | None = None,
    spectrum_points: int = 200,
    device_timeout: float = 30.0,
) -> SimulatedBench:
    """Build a simulated bench.

    Args:
        seed: Seed of every random draw on the bench.
        time_scale: Simulated seconds per real second (e.g. ``1000`` for tests).
        stocks: Stock name -> reservoir capacity in mL (default ``a``, ``b``, ``solvent``).
        response: What the spectrometer measures (default: :class:`AnalyticResponse`).
        spectrum_points: Wavelengths per spectrum.
        device_timeout: Real seconds before a stuck operation fails.

    Returns:
        The bench, its devices named ``dispenser``, ``reactor``, ``spectrometer``, ``robot``.
    """
    stocks = dict(stocks or DEFAULT_STOCKS)
    world = BenchWorld(seed=seed, time_scale=time_scale, stocks=stocks)
    dispenser = make_dispenser_class(stocks)(name="dispenser", world=world, timeout=device_timeout)
    devices: dict[str, Device] = {
        "dispenser": dispenser,
        "reactor": Reactor(name="reactor", world=world, timeout=device_timeout),
        "spectrometer": Spectrometer(
            name="spectrometer",
            world=world,
            response=response,
            points=spectrum_points,
            timeout=device_timeout,
        ),
        "robot": Robot(name="robot", world=world, timeout=device_timeout),
    }
    spectrometer: Spectrometer = devices["spectrometer"]
    settings = {
        "seed": seed,
        "time_scale": time_scale,
        "stocks": stocks,
        "response": type(spectrometer.response).__name__,
        "response_measures": spectrometer.response.name,
        "response_settings": response_settings(spectrometer.response),
        "spectrum_points": spectrum_points,
    }
    return SimulatedBench(world=world, devices=devices, settings=settings)

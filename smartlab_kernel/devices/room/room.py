"""Build a whole simulated lab room: HVAC, fume hoods, lights, sensors, e-stop, meters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from ophyd import Device

from ..world import BenchWorld
from .conditions import RoomConditions
from .estop import EmergencyStop
from .hood import FumeHood
from .hvac import HvacZone
from .lighting import Lighting
from .meter import EnergyMeter, InstrumentLoad
from .sensors import RoomSensors

#: The systems whose energy is metered, in report order.
SYSTEMS: tuple[str, ...] = ("hvac", "hoods", "lighting", "instruments")
#: Offset of the room's random stream from the bench's (same seed, independent draws).
ROOM_RNG_STREAM = 8


@dataclass
class SimulatedRoom:
    """A simulated lab room on a bench's world (same clock, seed derived from the bench's).

    Attributes:
        world: The bench world whose clock the room runs on.
        conditions: Volume, outdoor air, occupancy; the hub of change notifications.
        devices: Device name -> ophyd device (``hvac``, ``hood_1``..., ``lighting``,
            ``room_sensors``, ``estop``, ``instruments``, ``meter_<system>``).
        settings: How the room was built, for run metadata.
    """

    world: BenchWorld
    conditions: RoomConditions
    devices: dict[str, Device]
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def hvac(self) -> HvacZone:
        """The HVAC zone."""
        return self.devices["hvac"]

    @property
    def hoods(self) -> dict[str, FumeHood]:
        """The fume hoods by name."""
        return {n: d for n, d in self.devices.items() if isinstance(d, FumeHood)}

    @property
    def lighting(self) -> Lighting:
        """The lights."""
        return self.devices["lighting"]

    @property
    def sensors(self) -> RoomSensors:
        """The room sensor head."""
        return self.devices["room_sensors"]

    @property
    def estop(self) -> EmergencyStop:
        """The emergency-stop button."""
        return self.devices["estop"]

    @property
    def instruments(self) -> InstrumentLoad:
        """The instruments' plug load."""
        return self.devices["instruments"]

    @property
    def meters(self) -> dict[str, EnergyMeter]:
        """Energy meter per system (``hvac``, ``hoods``, ``lighting``, ``instruments``)."""
        return {s: self.devices[f"meter_{s}"] for s in SYSTEMS}

    def energy_kwh(self) -> dict[str, float]:
        """KWh per system since the meters were built or reset."""
        return {s: float(m.energy.get()) for s, m in self.meters.items()}

    def power_w(self) -> dict[str, float]:
        """Power per system now, in W."""
        return {s: float(m.power.get()) for s, m in self.meters.items()}

    def set_occupants(self, count: int) -> None:
        """Say how many people are in the room (see :meth:`RoomConditions.set_occupants`)."""
        self.conditions.set_occupants(count)


def build_room(
    world: BenchWorld,
    *,
    hoods: int = 2,
    volume_m3: float = 240.0,
    outdoor_c: float = 5.0,
    device_timeout: float = 30.0,
) -> SimulatedRoom:
    """Build a simulated lab room on ``world`` (its clock and seed).

    Args:
        world: The bench world (use ``lab.bench.world`` to share the bench's clock).
        hoods: How many fume hoods (named ``hood_1``, ``hood_2``, ...), 0 to 20.
        volume_m3: Air volume of the room.
        outdoor_c: Outdoor air temperature.
        device_timeout: Real seconds before a stuck operation fails.

    Raises:
        ValueError: If ``hoods`` is not an integer from 0 to 20.
    """
    if isinstance(hoods, bool) or not isinstance(hoods, int) or not 0 <= hoods <= 20:
        raise ValueError(f"hoods must be an integer from 0 to 20, got {hoods!r}")
    conditions = RoomConditions(volume_m3=volume_m3, outdoor_c=outdoor_c)
    rng = np.random.default_rng([world.seed, ROOM_RNG_STREAM])
    common: dict[str, Any] = {
        "world": world,
        "conditions": conditions,
        "rng": rng,
        "timeout": device_timeout,
    }
    hood_devices = [FumeHood(name=f"hood_{i}", **common) for i in range(1, hoods + 1)]

    def hood_exhaust() -> float:
        return sum(float(h.exhaust_flow.get()) for h in hood_devices)

    hvac = HvacZone(name="hvac", hood_exhaust=hood_exhaust, **common)
    lighting = Lighting(name="lighting", **common)
    instruments = InstrumentLoad(name="instruments", **common)
    power_sources = {
        "hvac": lambda: float(hvac.power.get()),
        "hoods": lambda: sum(float(h.power.get()) for h in hood_devices),
        "lighting": lambda: float(lighting.power.get()),
        "instruments": lambda: float(instruments.power.get()),
    }
    devices: dict[str, Device] = {
        "hvac": hvac,
        **{h.name: h for h in hood_devices},
        "lighting": lighting,
        "room_sensors": RoomSensors(name="room_sensors", hvac=hvac, **common),
        "estop": EmergencyStop(name="estop", **common),
        "instruments": instruments,
    }
    for system in SYSTEMS:
        name = f"meter_{system}"
        devices[name] = EnergyMeter(name=name, power=power_sources[system], **common)
    settings = {"hoods": hoods, "volume_m3": volume_m3, "outdoor_c": outdoor_c, "seed": world.seed}
    return SimulatedRoom(world=world, conditions=conditions, devices=devices, settings=settings)

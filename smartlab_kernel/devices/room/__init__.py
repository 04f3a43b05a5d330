"""The simulated lab room: HVAC, fume hoods, lighting, sensors, e-stop and energy meters."""

from .base import ModeSignal, RoomDevice, RoomSetpoint
from .conditions import RoomConditions
from .dynamics import FirstOrder
from .energy import (
    ALWAYS_ON,
    SETBACK,
    EnergyResult,
    OperatingSchedule,
    apply_state,
    setback_saving,
    simulate_energy,
)
from .estop import EmergencyStop
from .faults import ROOM_FAULT_KINDS, RoomFaultInjector
from .hood import FumeHood
from .hvac import HVAC_MODES, HvacZone
from .lighting import LIGHTING_MODES, Lighting
from .meter import EnergyMeter, InstrumentLoad
from .room import SYSTEMS, SimulatedRoom, build_room
from .sensors import RoomSensors
from .stepped_clock import SteppedClock

__all__ = [
    "ALWAYS_ON",
    "HVAC_MODES",
    "LIGHTING_MODES",
    "ROOM_FAULT_KINDS",
    "SETBACK",
    "SYSTEMS",
    "EmergencyStop",
    "EnergyMeter",
    "EnergyResult",
    "FirstOrder",
    "FumeHood",
    "HvacZone",
    "InstrumentLoad",
    "Lighting",
    "ModeSignal",
    "OperatingSchedule",
    "RoomConditions",
    "RoomDevice",
    "RoomFaultInjector",
    "RoomSensors",
    "RoomSetpoint",
    "SimulatedRoom",
    "SteppedClock",
    "apply_state",
    "build_room",
    "setback_saving",
    "simulate_energy",
]

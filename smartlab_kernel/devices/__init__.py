"""Ophyd devices: the simulated lab bench and its response models."""

from . import adapters, labconfig, room
from .base import SimulatedDevice
from .bench import DEFAULT_STOCKS, SimulatedBench, build_bench
from .clock import SimClock
from .dataset_response import DatasetResponse, find_datasets
from .dispenser import Dispenser, SyringePump, make_dispenser_class
from .errors import (
    DeviceDisconnectedError,
    DeviceStoppedError,
    DeviceTimeoutError,
    LimitError,
    NoVialError,
    ReservoirEmptyError,
    StationOccupiedError,
    UnknownStationError,
)
from .faults import FAULT_KINDS, FaultInjector
from .reactor import ReactionTimer, Reactor
from .response import AnalyticResponse, ResponseModel, response_from_settings, response_settings
from .robot import Robot
from .spectrometer import Spectrometer
from .vial import Vial
from .world import BenchWorld

__all__ = [
    "DEFAULT_STOCKS",
    "FAULT_KINDS",
    "AnalyticResponse",
    "BenchWorld",
    "DatasetResponse",
    "DeviceDisconnectedError",
    "DeviceStoppedError",
    "DeviceTimeoutError",
    "Dispenser",
    "FaultInjector",
    "LimitError",
    "NoVialError",
    "ReactionTimer",
    "Reactor",
    "ReservoirEmptyError",
    "ResponseModel",
    "Robot",
    "SimClock",
    "SimulatedBench",
    "SimulatedDevice",
    "Spectrometer",
    "StationOccupiedError",
    "SyringePump",
    "UnknownStationError",
    "Vial",
    "adapters",
    "build_bench",
    "find_datasets",
    "labconfig",
    "make_dispenser_class",
    "response_from_settings",
    "response_settings",
    "room",
]

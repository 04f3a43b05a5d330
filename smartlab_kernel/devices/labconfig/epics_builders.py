"""Build the ophyd device of a ``kind: epics`` entry, by its ``device_class``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ophyd import Device

from .errors import LabConfigError
from .model import DeviceConfig


def _timeouts(s: dict[str, Any]) -> dict[str, float]:
    return {
        "connection_timeout": float(s["connection_timeout"]),
        "read_timeout": float(s["read_timeout"]),
    }


def _limits(s: dict[str, Any]) -> tuple[float, float] | None:
    limits = s.get("limits") or []
    return (float(limits[0]), float(limits[1])) if limits else None


def _reactor(name: str, s: dict[str, Any]) -> Device:
    from ..adapters.epics_reactor import epics_reactor_class

    cls = epics_reactor_class(s["pvs"], **_timeouts(s))
    reactor = cls(s["prefix"], name=name, settle_timeout=float(s["settle_timeout"]))
    reactor.tolerance.put(float(s["tolerance"]))
    return reactor


def _setpoint_readback(name: str, s: dict[str, Any]) -> Device:
    from ..adapters.epics_setpoint_readback import setpoint_readback_class

    cls = setpoint_readback_class(
        s["setpoint"], s["readback"], done=s["done"] or None, **_timeouts(s)
    )
    return cls(
        s["prefix"],
        name=name,
        tolerance=float(s["tolerance"]),
        settle_timeout=float(s["settle_timeout"]),
        settle_time=float(s["settle_time"]),
        put_complete=bool(s["put_complete"]),
        limits=_limits(s),
        done_value=s["done_value"],
    )


def _pv_positioner(name: str, s: dict[str, Any]) -> Device:
    from ..adapters.epics_pv_positioner import pv_positioner_class

    cls = pv_positioner_class(
        s["setpoint"],
        s["done"],
        readback=s["readback"] or None,
        stop=s["stop"] or None,
        done_value=s["done_value"],
        stop_value=s["stop_value"],
        **_timeouts(s),
    )
    return cls(
        s["prefix"],
        name=name,
        settle_timeout=float(s["settle_timeout"]),
        settle_time=float(s["settle_time"]),
        lab_limits=_limits(s),
    )


def _motor(name: str, s: dict[str, Any]) -> Device:
    from ..adapters.epics_motor import LabEpicsMotor

    motor = LabEpicsMotor(s["prefix"], name=name, settle_timeout=float(s["settle_timeout"]))
    for walk in motor.walk_signals():  # ophyd's EpicsMotor takes no timeouts of its own
        walk.item._connection_timeout = float(s["connection_timeout"])
        walk.item._timeout = float(s["read_timeout"])
    return motor


def _detector(name: str, s: dict[str, Any]) -> Device:
    from ..adapters.epics_detector import detector_class

    cls = detector_class(s["acquire"], s["reads"], **_timeouts(s))
    return cls(
        s["prefix"],
        name=name,
        acquire_value=s["acquire_value"],
        acquire_timeout=float(s["acquire_timeout"]),
    )


def _area_detector(name: str, s: dict[str, Any]) -> Device:
    from ..adapters.epics_area_detector import area_detector_class

    cls = area_detector_class(s["cam"] or "cam1:", s["image"] or "image1:")
    exposure = s["acquire_time"]
    detector = cls(
        s["prefix"],
        name=name,
        acquire_time=None if exposure is None else float(exposure),
        acquire_timeout=float(s["acquire_timeout"]),
    )
    for walk in detector.walk_signals():  # ophyd's areaDetector classes take no timeouts
        if hasattr(walk.item, "_connection_timeout"):
            walk.item._connection_timeout = float(s["connection_timeout"])
            walk.item._timeout = float(s["read_timeout"])
    return detector


EPICS_BUILDERS: dict[str, Callable[[str, dict[str, Any]], Device]] = {
    "reactor": _reactor,
    "setpoint_readback": _setpoint_readback,
    "pv_positioner": _pv_positioner,
    "motor": _motor,
    "detector": _detector,
    "area_detector": _area_detector,
}


def build_epics(device: DeviceConfig) -> Device:
    """Build an EPICS device (PVs connect in the background; nothing is read yet).

    Raises:
        LabConfigError: If a setting cannot be used (naming the device).
    """
    s = device.settings
    try:
        return EPICS_BUILDERS[s["device_class"]](device.name, s)
    except ValueError as exc:
        raise LabConfigError([f"device {device.name!r}: {exc}"]) from exc

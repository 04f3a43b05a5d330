"""Adapters from ophyd devices to the protocols real instruments speak.

* EPICS Channel Access: generic kinds built from PV suffixes, each an ophyd
  device: :func:`setpoint_readback_class`, :func:`pv_positioner_class` (an
  ophyd ``PVPositioner``), :class:`LabEpicsMotor` (ophyd's ``EpicsMotor``),
  :func:`detector_class` and :func:`area_detector_class` (ophyd's areaDetector
  ``SingleTrigger`` with a cam and an image plugin); :class:`EpicsReactor` is
  the setpoint/readback drive on a reactor's PVs. Writes wait for the IOC (a refusal raises
  :class:`PutRefusedError`), values are in the PV's EGU or pint quantities.
  Served in tests by :mod:`~smartlab_kernel.devices.adapters.reactor_ioc`,
  :mod:`~smartlab_kernel.devices.adapters.instruments_ioc` and
  :mod:`~smartlab_kernel.devices.adapters.area_detector_ioc`.
* SiLA 2: :class:`SilaDevice`, built from a server's feature by
  :func:`connect_sila_device`; :mod:`~smartlab_kernel.devices.adapters.sila_spectrometer`
  serves the simulated spectrometer.
* PyLabRobot: :class:`LiquidHandlerDevice`, built by :func:`build_liquid_handler`
  with a backend chosen by name; :class:`PipettingStep` is one ``LiquidHandler``
  call as a Bluesky ``set`` value, :class:`WellVolumes` the tracked volumes as a
  readable.
* ophyd-async: :func:`build_ophyd_async_device` builds and connects any
  ophyd-async device; :class:`AsyncEpicsReactor` is an ophyd-async EPICS example.

Each protocol's package (caproto or pyepics, sila2, pylabrobot, ophyd-async) is
imported only when its adapter is first used, so a lab without SiLA 2 does not
need it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .epics_area_detector import FrameNotReceivedError, LabAreaDetectorBase, area_detector_class
from .epics_detector import EpicsDetectorBase, detector_class
from .epics_device import EpicsDeviceBase
from .epics_layer import ensure_control_layer
from .epics_motor import LabEpicsMotor
from .epics_put import PutRefusedError
from .epics_pv_positioner import LabPVPositionerBase, pv_positioner_class
from .epics_reactor import DEFAULT_REACTOR_PVS, EpicsReactor, EpicsReactorBase, epics_reactor_class
from .epics_setpoint_readback import EpicsSetpointReadbackBase, setpoint_readback_class
from .failures import not_answering, timed_out
from .progress_status import ProgressStatus

if TYPE_CHECKING:
    from .liquid_handler import LiquidHandlerDevice, PipetteStep
    from .liquid_handler_backends import LIQUID_HANDLER_BACKENDS
    from .liquid_handler_setup import build_liquid_handler
    from .ophyd_async_devices import build_ophyd_async_device
    from .ophyd_async_reactor import AsyncEpicsReactor
    from .pipetting_step import PipettingStep
    from .sila_device import SilaDevice, connect_sila_device
    from .well_volumes import WellVolumes

_LAZY = {
    "LiquidHandlerDevice": "liquid_handler",
    "PipetteStep": "liquid_handler",
    "build_liquid_handler": "liquid_handler_setup",
    "LIQUID_HANDLER_BACKENDS": "liquid_handler_backends",
    "PipettingStep": "pipetting_step",
    "WellVolumes": "well_volumes",
    "build_ophyd_async_device": "ophyd_async_devices",
    "AsyncEpicsReactor": "ophyd_async_reactor",
    "SilaDevice": "sila_device",
    "connect_sila_device": "sila_device",
}

__all__ = [
    "DEFAULT_REACTOR_PVS",
    "LIQUID_HANDLER_BACKENDS",
    "AsyncEpicsReactor",
    "EpicsDetectorBase",
    "EpicsDeviceBase",
    "EpicsReactor",
    "EpicsReactorBase",
    "EpicsSetpointReadbackBase",
    "FrameNotReceivedError",
    "LabAreaDetectorBase",
    "LabEpicsMotor",
    "LabPVPositionerBase",
    "LiquidHandlerDevice",
    "PipetteStep",
    "PipettingStep",
    "ProgressStatus",
    "PutRefusedError",
    "SilaDevice",
    "WellVolumes",
    "area_detector_class",
    "build_liquid_handler",
    "build_ophyd_async_device",
    "connect_sila_device",
    "detector_class",
    "ensure_control_layer",
    "epics_reactor_class",
    "not_answering",
    "pv_positioner_class",
    "setpoint_readback_class",
    "timed_out",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)

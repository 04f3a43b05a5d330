"""An areaDetector camera through ophyd's own areaDetector classes, for a lab.

The device is ophyd's ``SingleTrigger`` + ``DetectorBase`` with a ``cam``
(:class:`ophyd.areadetector.CamBase`) and an ``image1``
(:class:`ophyd.areadetector.ImagePlugin`), so everything ophyd users know
stays: ``stage_sigs``, ``det.cam.acquire_time``, ``det.image1.image``,
staging before a count. What a run records is the frame itself, inline:
``<name>_image`` (a ``height x width`` array, counts), its reduction
``<name>_total_counts`` (hinted, so plotted), and ``<name>_cam_array_counter``
(which frame it was). No file plugin is needed and the catalog holds the
pixels; keep frames small (a region of interest), as each is one event.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from ophyd import Component as Cpt
from ophyd import DynamicDeviceComponent as DDC
from ophyd import EpicsSignal, EpicsSignalRO, Kind, Signal
from ophyd.areadetector import CamBase, DetectorBase, ImagePlugin, SingleTrigger
from ophyd.areadetector.base import EpicsSignalWithRBV
from ophyd.device import Staged
from ophyd.status import DeviceStatus

from .epics_device import CA_FAILURES
from .epics_layer import ensure_control_layer, search_description
from .epics_put import put_with_completion
from .failures import not_answering


class FrameNotReceivedError(RuntimeError):
    """An acquisition completed but the image plugin did not get its frame."""


def _now(cls: type, suffix: str, kind: str = "omitted", **kwargs: Any) -> Cpt[Any]:
    """A component made (and connecting) with its device, unlike ophyd's areaDetector ones."""
    return Cpt(cls, suffix, lazy=False, kind=kind, **kwargs)


class LabCam(CamBase):
    """ophyd's ``CamBase``; the PVs the lab uses connect when the device is made.

    (ophyd makes areaDetector components on first use and then waits, one PV at
    a time, for each to connect; ``SingleTrigger`` uses ``acquire`` at once, so
    merely building the device would wait for the IOC.)
    """

    acquire = _now(EpicsSignalWithRBV, "Acquire")
    acquire_time = _now(EpicsSignalWithRBV, "AcquireTime", kind="config")
    image_mode = _now(EpicsSignalWithRBV, "ImageMode", kind="config")
    num_images = _now(EpicsSignalWithRBV, "NumImages", kind="config")
    array_counter = _now(EpicsSignalWithRBV, "ArrayCounter", kind="normal")
    array_callbacks = _now(EpicsSignalWithRBV, "ArrayCallbacks")
    detector_state = _now(EpicsSignalRO, "DetectorState_RBV")
    port_name = _now(EpicsSignalRO, "PortName_RBV", string=True)
    array_size = DDC(
        {
            "array_size_x": (EpicsSignalRO, "ArraySizeX_RBV", {"lazy": False}),
            "array_size_y": (EpicsSignalRO, "ArraySizeY_RBV", {"lazy": False}),
        },
        kind="omitted",
    )


class LabImagePlugin(ImagePlugin):
    """ophyd's ``ImagePlugin`` (``NDPluginStdArrays``); the PVs used connect with the device."""

    array_data = _now(EpicsSignal, "ArrayData")
    array_counter = _now(EpicsSignalWithRBV, "ArrayCounter")
    array_size = DDC(
        {
            "depth": (EpicsSignalRO, "ArraySize2_RBV", {"lazy": False}),
            "height": (EpicsSignalRO, "ArraySize1_RBV", {"lazy": False}),
            "width": (EpicsSignalRO, "ArraySize0_RBV", {"lazy": False}),
        },
        kind="omitted",
    )
    ndimensions = _now(EpicsSignalRO, "NDimensions_RBV")
    enable = _now(EpicsSignalWithRBV, "EnableCallbacks", kind="config", string=True)
    blocking_callbacks = _now(EpicsSignalWithRBV, "BlockingCallbacks", kind="config", string=True)
    nd_array_port = _now(EpicsSignalWithRBV, "NDArrayPort", kind="config", string=True)
    port_name = _now(EpicsSignalRO, "PortName_RBV", kind="config", string=True)


class CountsSignal(Signal):
    """A soft signal holding what the last acquisition gave, described in counts."""

    def describe(self) -> dict[str, dict[str, Any]]:
        """Describe the value (shape and dtype from it), in counts."""
        described = dict(super().describe())
        described[self.name] = {**described[self.name], "units": "counts"}
        return described


class LabAreaDetectorBase(SingleTrigger, DetectorBase):
    """An areaDetector camera whose frames are recorded in the run (see the module).

    ``trigger()`` (after ``stage()``, which ``bp.count`` does) writes 1 to
    ``cam.Acquire`` with put-completion and finishes when the IOC completes
    that write (areaDetector does when the frames are taken); a refused write
    fails at once with the IOC's status, one that takes longer than
    ``acquire_timeout`` fails with a timeout. The frame is then read from the
    image plugin; if the plugin's ``ArrayCounter`` did not advance (its
    callbacks were off), the trigger fails with :class:`FrameNotReceivedError`
    rather than record an old frame as new. Build a class with
    :func:`area_detector_class`.

    Args:
        prefix: PV prefix of the detector, e.g. ``"LAB:AD:"``.
        acquire_time: Exposure (``cam.acquire_time``) set when staged, s; ``None`` keeps the IOC's.
        acquire_timeout: Seconds one acquisition may take.
        **kwargs: Passed to :class:`ophyd.areadetector.DetectorBase` (``name`` is required).
    """

    image = Cpt(CountsSignal, value=np.zeros((0, 0), dtype=np.uint16), kind="normal")
    total_counts = Cpt(CountsSignal, value=0.0, kind="hinted")

    def __init__(
        self,
        prefix: str = "",
        *,
        acquire_time: float | None = None,
        acquire_timeout: float = 60.0,
        **kwargs: Any,
    ) -> None:
        ensure_control_layer()
        super().__init__(prefix, **kwargs)
        self.acquire_timeout = float(acquire_timeout)
        self.stage_sigs["cam.num_images"] = 1
        if acquire_time is not None:
            self.stage_sigs["cam.acquire_time"] = float(acquire_time)
        self.read_attrs = ["image", "total_counts", "cam", "cam.array_counter"]
        self.total_counts.kind = Kind.hinted  # (setting read_attrs makes every one normal)
        self.configuration_attrs = ["cam", "cam.acquire_time", "cam.image_mode", "cam.num_images"]

    @property
    def endpoint(self) -> str:
        """Where the detector is served."""
        return f"areaDetector {self.prefix} ({search_description()})"

    def wait_connected(self, doing: str) -> None:
        """Give the PVs still connecting their connection timeout, then fail clearly.

        Raises:
            DeviceDisconnectedError: Naming the detector and what it was doing.
        """
        timeout = float(getattr(self.cam.acquire, "connection_timeout", None) or 1.0)
        try:
            self.wait_for_connection(all_signals=False, timeout=timeout)
        except CA_FAILURES as exc:
            raise not_answering(self.name, self.endpoint, doing, exc) from exc

    def stage(self) -> list[Any]:
        """Stage as ophyd's areaDetectors do (``stage_sigs``: plugin on, callbacks blocking, ...).

        Raises:
            DeviceDisconnectedError: If the IOC does not answer.
        """
        self.wait_connected("staging")
        try:
            staged: list[Any] = super().stage()
        except CA_FAILURES as exc:
            raise not_answering(self.name, self.endpoint, "staging", exc) from exc
        return staged

    def trigger(self) -> DeviceStatus:
        """Acquire one frame; the status finishes once it is read from the image plugin.

        Raises:
            RuntimeError: If the detector is not staged (ophyd's convention).
            DeviceDisconnectedError: If the IOC does not answer.
        """
        if self._staged != Staged.yes:
            raise RuntimeError(
                f"{self.name} is not staged: stage it before triggering (bp.count does; in "
                f"your own plan use bpp.stage_decorator([{self.name}]))"
            )
        self.wait_connected("acquiring")
        plugin_counter = self.image1.array_counter
        try:
            before = int(plugin_counter.get(use_monitor=False))
        except CA_FAILURES as exc:
            raise not_answering(self.name, self.endpoint, "acquiring", exc) from exc
        status = DeviceStatus(self)

        def finished(error: BaseException | None) -> None:
            if error is not None:
                status.set_exception(error)
                return
            try:
                self._take_frame(before)
            except CA_FAILURES as exc:
                status.set_exception(not_answering(self.name, self.endpoint, "reading", exc))
            except FrameNotReceivedError as exc:
                status.set_exception(exc)
            else:
                status.set_finished()

        acquire = self.cam.acquire
        try:
            put_with_completion(
                acquire,
                1,
                device=self.name,
                endpoint=f"EPICS PV {acquire.setpoint_pvname} ({search_description()})",
                timeout=self.acquire_timeout,
                done=finished,
            )
        except CA_FAILURES as exc:
            raise not_answering(self.name, self.endpoint, "acquiring", exc) from exc
        return status

    def _take_frame(self, counter_before: int) -> None:
        """Read the new frame from the image plugin into ``image`` and ``total_counts``."""
        counter = int(self.image1.array_counter.get(use_monitor=False))
        if counter <= counter_before:
            raise FrameNotReceivedError(
                f"{self.name}: the acquisition completed but {self.image1.prefix} received no "
                f"frame (its ArrayCounter stayed at {counter}); check that the plugin's "
                "EnableCallbacks and the camera's ArrayCallbacks are on (staging sets both)"
            )
        frame = np.asarray(self.image1.image)
        self.image.put(frame)
        self.total_counts.put(float(frame.sum()))

    def describe(self) -> dict[str, dict[str, Any]]:
        """Describe the readings; the frame and its total name the PV they were read from."""
        described = dict(super().describe())
        source = f"PV:{self.image1.array_data.pvname}"
        for signal in (self.image, self.total_counts):
            if signal.name in described:
                described[signal.name] = {**described[signal.name], "source": source}
        return described

    def check_connection(self, timeout: float = 2.0) -> str:
        """Connect; return the state, the frame size and the exposure.

        Raises:
            DeviceDisconnectedError: If the IOC does not answer within ``timeout`` s.
        """
        try:
            self.wait_for_connection(all_signals=False, timeout=timeout)
            state = self.cam.detector_state.get(as_string=True)
            width, height = (
                int(self.cam.array_size.array_size_x.get()),
                int(self.cam.array_size.array_size_y.get()),
            )
            exposure = float(self.cam.acquire_time.get())
            plugin = self.image1.plugin_type.get()
        except CA_FAILURES as exc:
            raise not_answering(self.name, self.endpoint, "connecting", exc) from exc
        return (
            f"{self.cam.detector_state.pvname} = {state}; frames {width} x {height} pixels; "
            f"exposure {exposure:g} s; image plugin {self.image1.prefix} ({plugin})"
        )


def area_detector_class(cam: str = "cam1:", image: str = "image1:") -> type[LabAreaDetectorBase]:
    """Build an areaDetector class for the camera and image plugin at these suffixes.

    Args:
        cam: Suffix of the camera driver's PVs, e.g. ``"cam1:"``.
        image: Suffix of the ``NDPluginStdArrays`` plugin's PVs, e.g. ``"image1:"``.

    Raises:
        ValueError: If a suffix is empty or has spaces.
    """
    for what, suffix in (("cam", cam), ("image", image)):
        if not isinstance(suffix, str) or not suffix.strip() or any(c.isspace() for c in suffix):
            raise ValueError(f"{what} must be a PV suffix such as 'cam1:', got {suffix!r}")
    components = {"cam": Cpt(LabCam, cam), "image1": Cpt(LabImagePlugin, image)}
    return type("EpicsAreaDetector", (LabAreaDetectorBase,), components)

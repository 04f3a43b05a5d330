"""A caproto IOC shaped like an EPICS areaDetector: a camera driver and an image plugin.

It is the protocol peer the ``area_detector`` EPICS kind (ophyd's
``SingleTrigger`` detector with a ``cam`` and an ``ImagePlugin``) is tested
against, and serves the PVs that ophyd's areaDetector classes use, under a
prefix such as ``"LAB:AD:"``:

============================ ===== ==================================================
PV (after the prefix)        Write What
============================ ===== ==================================================
cam1:Acquire (+ _RBV)        yes   enum Done/Acquire: 1 acquires ``NumImages`` frames of
                                   ``AcquireTime`` s each; the write completes, and
                                   ``Acquire_RBV`` reads Done again, when they are taken
cam1:AcquireTime (+ _RBV)    yes   exposure, s, control limits [0.001, 10]
cam1:ImageMode (+ _RBV)      yes   enum Single/Multiple/Continuous (Continuous as Multiple)
cam1:NumImages (+ _RBV)      yes   frames per acquisition
cam1:ArrayCounter (+ _RBV)   yes   frames taken (write 0 to reset)
cam1:ArrayCallbacks (+ _RBV) yes   enum Disable/Enable: frames go to the plugins
cam1:DetectorState_RBV       no    enum Idle/Acquire/...: Acquire while acquiring
cam1:ArraySizeX_RBV, ..Y_RBV no    frame width and height, pixels
cam1:SHUTTER                 yes   0 (closed): acquisitions are refused (ECA_PUTFAIL)
image1:ArrayData             no    the last frame, row after row (uint16 counts)
image1:ArraySize0/1/2_RBV    no    width, height, 0 (a 2-D frame)
image1:NDimensions_RBV       no    2
image1:ArrayCounter (+ _RBV) yes   frames received
image1:EnableCallbacks (+ …) yes   enum Disable/Enable: the plugin takes frames
image1:BlockingCallbacks (…) yes   enum No/Yes
image1:NDArrayPort (+ _RBV)  yes   ``CAM``, the port it takes frames from
image1:PluginType_RBV        no    ``NDPluginStdArrays``
============================ ===== ==================================================

Each frame is a Gaussian spot on a dark background, its counts proportional to
the exposure, with seeded Poisson noise: frame ``n`` of an IOC is the same in
every run. Every ``X``/``X_RBV`` pair mirrors the write, as areaDetector does.

Run it with ``python -m smartlab_kernel.devices.adapters.area_detector_ioc
--prefix LAB:AD: --interfaces 127.0.0.1``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import numpy as np
from caproto import ChannelType
from caproto.server import PVGroup, pvproperty, run, template_arg_parser

DEFAULT_PREFIX = "LAB:AD:"
#: Frame size, pixels.
WIDTH, HEIGHT = 32, 24
#: Counts per second at the spot's centre, and of the dark background.
PEAK_RATE, DARK_RATE = 2000.0, 20.0


def _enum(name: str, value: str, choices: list[str], **kwargs: Any) -> pvproperty:
    return pvproperty(
        name=name, value=value, enum_strings=choices, dtype=ChannelType.ENUM, **kwargs
    )


def _string(name: str, value: str) -> pvproperty:
    return pvproperty(name=name, value=value, dtype=ChannelType.STRING, read_only=True)


def frame(number: int, exposure_s: float) -> np.ndarray:
    """Frame ``number`` (from 1) of an ``exposure_s`` s exposure: ``HEIGHT x WIDTH`` uint16.

    The spot sits at (12, 16) pixels with a width of 3 pixels; the counts are
    Poisson draws seeded by ``number``.
    """
    rows, cols = np.mgrid[0:HEIGHT, 0:WIDTH]
    rate = DARK_RATE + PEAK_RATE * np.exp(-((rows - 12) ** 2 + (cols - 16) ** 2) / (2 * 3.0**2))
    counts = np.random.default_rng(number).poisson(rate * max(exposure_s, 0.0))
    return np.clip(counts, 0, 65535).astype(np.uint16)


class AreaDetectorIOC(PVGroup):
    """The PVs of a camera driver (``cam1:``) and a standard-arrays plugin (``image1:``).

    Args:
        **kwargs: Passed to :class:`caproto.server.PVGroup` (``prefix``, ...).
    """

    acquire = _enum("cam1:Acquire", "Done", ["Done", "Acquire"])
    acquire_rbv = _enum("cam1:Acquire_RBV", "Done", ["Done", "Acquire"], read_only=True)
    acquire_time = pvproperty(
        name="cam1:AcquireTime",
        value=0.1,
        units="s",
        precision=3,
        lower_ctrl_limit=0.001,
        upper_ctrl_limit=10.0,
    )
    acquire_time_rbv = pvproperty(
        name="cam1:AcquireTime_RBV", value=0.1, units="s", precision=3, read_only=True
    )
    image_mode = _enum("cam1:ImageMode", "Single", ["Single", "Multiple", "Continuous"])
    image_mode_rbv = _enum(
        "cam1:ImageMode_RBV", "Single", ["Single", "Multiple", "Continuous"], read_only=True
    )
    num_images = pvproperty(name="cam1:NumImages", value=1)
    num_images_rbv = pvproperty(name="cam1:NumImages_RBV", value=1, read_only=True)
    cam_counter = pvproperty(name="cam1:ArrayCounter", value=0)
    cam_counter_rbv = pvproperty(name="cam1:ArrayCounter_RBV", value=0, read_only=True)
    array_callbacks = _enum("cam1:ArrayCallbacks", "Enable", ["Disable", "Enable"])
    array_callbacks_rbv = _enum(
        "cam1:ArrayCallbacks_RBV", "Enable", ["Disable", "Enable"], read_only=True
    )
    detector_state = _enum(
        "cam1:DetectorState_RBV",
        "Idle",
        ["Idle", "Acquire", "Readout", "Correct", "Saving", "Aborting", "Error", "Waiting"],
        read_only=True,
    )
    size_x = pvproperty(name="cam1:ArraySizeX_RBV", value=WIDTH, read_only=True)
    size_y = pvproperty(name="cam1:ArraySizeY_RBV", value=HEIGHT, read_only=True)
    cam_port = _string("cam1:PortName_RBV", "CAM")
    shutter = pvproperty(name="cam1:SHUTTER", value=1, doc="0: closed, acquisitions refused.")

    array_data = pvproperty(
        name="image1:ArrayData",
        value=[0] * (WIDTH * HEIGHT),
        dtype=ChannelType.LONG,
        max_length=WIDTH * HEIGHT,
        read_only=True,
    )
    size0 = pvproperty(name="image1:ArraySize0_RBV", value=0, read_only=True)
    size1 = pvproperty(name="image1:ArraySize1_RBV", value=0, read_only=True)
    size2 = pvproperty(name="image1:ArraySize2_RBV", value=0, read_only=True)
    ndimensions = pvproperty(name="image1:NDimensions_RBV", value=0, read_only=True)
    image_counter = pvproperty(name="image1:ArrayCounter", value=0)
    image_counter_rbv = pvproperty(name="image1:ArrayCounter_RBV", value=0, read_only=True)
    enable = _enum("image1:EnableCallbacks", "Disable", ["Disable", "Enable"])
    enable_rbv = _enum(
        "image1:EnableCallbacks_RBV", "Disable", ["Disable", "Enable"], read_only=True
    )
    blocking = _enum("image1:BlockingCallbacks", "No", ["No", "Yes"])
    blocking_rbv = _enum("image1:BlockingCallbacks_RBV", "No", ["No", "Yes"], read_only=True)
    nd_array_port = pvproperty(name="image1:NDArrayPort", value="CAM", dtype=ChannelType.STRING)
    nd_array_port_rbv = _string("image1:NDArrayPort_RBV", "CAM")
    plugin_type = _string("image1:PluginType_RBV", "NDPluginStdArrays")
    image_port = _string("image1:PortName_RBV", "IMAGE1")

    async def group_write(self, instance: Any, value: Any) -> Any:
        """Mirror a write to its ``_RBV`` PV, as areaDetector does."""
        readback = self.pvdb.get(f"{instance.pvname}_RBV")
        if readback is not None:
            await readback.write(value)
        return value

    @acquire.putter  # type: ignore[no-redef]
    async def acquire(self, instance: Any, value: str) -> str:
        """Take ``NumImages`` frames (one in Single mode); complete the write when done.

        Raises:
            RuntimeError: If the shutter is closed (the client gets ECA_PUTFAIL).
        """
        if value != "Acquire" or self.acquire_rbv.value == "Acquire":
            return "Done"
        if not self.shutter.value:
            raise RuntimeError("the shutter is closed: acquisition refused")
        await self.acquire_rbv.write("Acquire")
        await self.detector_state.write("Acquire")
        try:
            frames = 1 if self.image_mode.value == "Single" else max(int(self.num_images.value), 1)
            for _ in range(frames):
                await self._take_frame()
        finally:
            await self.detector_state.write("Idle")
            await self.acquire_rbv.write("Done")
        return "Done"

    async def _take_frame(self) -> None:
        exposure = float(self.acquire_time.value)
        await asyncio.sleep(exposure)
        number = int(self.cam_counter.value) + 1
        await self.cam_counter.write(number)
        if self.array_callbacks.value != "Enable" or self.enable.value != "Enable":
            return  # the plugin does not get the frame, as in areaDetector
        pixels = frame(number, exposure)
        await self.size0.write(WIDTH)
        await self.size1.write(HEIGHT)
        await self.ndimensions.write(2)
        await self.array_data.write(pixels.ravel().astype(np.int32).tolist())
        await self.image_counter.write(int(self.image_counter.value) + 1)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the IOC until interrupted (command line: ``--prefix``, ``--interfaces``, ...)."""
    parser, split_args = template_arg_parser(
        desc="Simulated areaDetector-style camera IOC (smartlab_kernel).",
        default_prefix=DEFAULT_PREFIX,
        argv=list(argv) if argv is not None else None,
        supported_async_libs=["asyncio"],
    )
    args = parser.parse_args(argv)
    ioc_options, run_options = split_args(args)
    run(AreaDetectorIOC(**ioc_options).pvdb, **run_options)


if __name__ == "__main__":  # pragma: no cover
    main()

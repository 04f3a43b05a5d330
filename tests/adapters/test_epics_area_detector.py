"""The ``area_detector`` EPICS kind (ophyd's SingleTrigger + cam + ImagePlugin) against an IOC.

The IOC is the instruments IOC's areaDetector-style camera (``<prefix>AD:``):
frame ``n`` is a seeded Gaussian spot, so the catalog's images can be checked
pixel for pixel.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import bluesky.plans as bp
import numpy as np
import pytest
from bluesky.utils import FailedStatus
from ophyd import EpicsSignal

from smartlab_kernel.devices.adapters.area_detector_ioc import HEIGHT, WIDTH, frame
from smartlab_kernel.devices.adapters.epics_area_detector import (
    FrameNotReceivedError,
    LabAreaDetectorBase,
)
from smartlab_kernel.devices.adapters.epics_put import PutRefusedError
from smartlab_kernel.devices.labconfig import (
    LabConfigError,
    build_devices,
    check_devices,
    load_lab_config,
    parse_config_text,
)

from .conftest import LabWith
from .instruments_peer import InstrumentsFactory, instruments_ioc  # noqa: F401

pytestmark = pytest.mark.timeout(120)


def camera(directory: Path, prefix: str, exposure: float = 0.05) -> Any:
    path = directory / "lab.yaml"
    path.write_text(
        f"""
devices:
  camera:
    kind: epics
    device_class: area_detector
    prefix: "{prefix}AD:"
    cam: "cam1:"
    image: "image1:"
    acquire_time: {exposure}
    acquire_timeout: 5
""",
        encoding="utf-8",
    )
    detector = build_devices(load_lab_config(path))["camera"]
    detector.wait_for_connection(all_signals=False, timeout=10)
    return detector


def put(pvname: str, value: Any) -> None:
    """Poke a PV as a stock client would (caproto-put)."""
    pv = EpicsSignal(pvname, name="poke")
    pv.wait_for_connection(timeout=5)
    pv.put(value, wait=True)


def test_a_count_through_the_lab_stores_each_frame_and_its_total_in_counts(
    instruments_ioc: InstrumentsFactory,  # noqa: F811
    lab_with: LabWith,
    tmp_path: Path,
) -> None:
    instruments_ioc("AD1:")
    detector = camera(tmp_path, "AD1:")
    assert isinstance(detector, LabAreaDetectorBase)
    assert detector.stage_sigs["cam.acquire_time"] == 0.05  # ophyd's conventions stay
    lab = lab_with({"camera": detector})
    (uid,) = lab.submit(bp.count([detector], num=3)).wait(60)
    lab.wait(30)
    stored = lab.catalog[uid]
    assert stored.metadata["stop"]["exit_status"] == "success"
    data = stored["primary"].read()
    images = np.asarray(data["camera_image"].values)
    assert images.shape == (3, HEIGHT, WIDTH)
    assert list(data["camera_cam_array_counter"].values) == [1, 2, 3]
    for index, number in enumerate((1, 2, 3)):  # the IOC's frame n, pixel for pixel
        assert np.array_equal(images[index], frame(number, 0.05))
    totals = list(data["camera_total_counts"].values)
    assert totals == [float(image.sum()) for image in images]
    keys = stored["primary"].metadata["data_keys"]
    assert keys["camera_image"]["shape"] == [HEIGHT, WIDTH]
    assert keys["camera_image"]["units"] == keys["camera_total_counts"]["units"] == "counts"
    assert keys["camera_image"]["source"] == "PV:AD1:AD:image1:ArrayData"
    assert stored["primary"].metadata["hints"]["camera"] == {"fields": ["camera_total_counts"]}
    configuration = stored["primary"].metadata["configuration"]["camera"]["data"]
    assert configuration["camera_cam_acquire_time"] == 0.05
    # unstaged after the count: the plugin is as it was before
    assert detector.image1.enable.get(as_string=True) == "Disable"


def test_refused_stale_and_unstaged_acquisitions_fail_clearly(
    instruments_ioc: InstrumentsFactory,  # noqa: F811
    lab_with: LabWith,
    tmp_path: Path,
) -> None:
    instruments_ioc("AD2:")
    detector = camera(tmp_path, "AD2:")
    with pytest.raises(RuntimeError, match=r"camera is not staged: stage it before triggering"):
        detector.trigger()
    # the shutter is closed: the IOC refuses the acquisition, and the run fails at once
    lab = lab_with({"camera": detector})
    put("AD2:AD:cam1:SHUTTER", 0)
    started = time.monotonic()
    run = lab.submit(bp.count([detector]))
    with pytest.raises(FailedStatus) as info:
        run.wait(30)
    assert time.monotonic() - started < 5.0  # not the acquire timeout
    assert isinstance(info.value.__cause__, PutRefusedError)
    assert "AD2:AD:cam1:Acquire: ECA_PUTFAIL" in str(info.value.__cause__)
    assert "shutter is closed" in str(info.value.__cause__)
    lab.wait(30)
    assert lab.catalog[run.uids[0]].metadata["stop"]["exit_status"] == "fail"
    put("AD2:AD:cam1:SHUTTER", 1)
    # a frame the image plugin never got is not recorded as new
    detector.stage()
    try:
        detector.trigger().wait(5)
        first = detector.read()["camera_image"]["value"]
        detector.image1.enable.put("Disable", wait=True)
        with pytest.raises(FrameNotReceivedError, match=r"AD2:AD:image1: received no frame"):
            detector.trigger().wait(5)
        assert np.array_equal(detector.read()["camera_image"]["value"], first)
    finally:
        detector.unstage()


def test_devices_check_and_config_validation_of_the_area_detector_kind(
    instruments_ioc: InstrumentsFactory,  # noqa: F811
    tmp_path: Path,
) -> None:
    instruments_ioc("AD3:")
    camera(tmp_path, "AD3:")
    (result,) = check_devices(load_lab_config(tmp_path / "lab.yaml"), timeout=5)
    assert result.ok, result.detail
    assert result.detail == (
        "AD3:AD:cam1:DetectorState_RBV = Idle; frames 32 x 24 pixels; exposure 0.1 s; "
        "image plugin AD3:AD:image1: (NDPluginStdArrays)"
    )
    with pytest.raises(LabConfigError) as info:
        parse_config_text(
            """
devices:
  camera:
    kind: epics
    device_class: area_detector
    prefix: "LAB:AD:"
    cam: "cam 1:"
    acquire_time: -1
    reads: {counts: COUNTS}
""",
            "yaml",
        )
    message = str(info.value)
    assert "field 'cam' = 'cam 1:' is not allowed; it must be a PV suffix" in message
    assert "field 'acquire_time' = -1 is not allowed; it must be a number > 0 s, or null" in message
    assert "unknown field 'reads'" in message


def test_a_camera_measures_recipes_staged_as_bp_count_stages_it(
    instruments_ioc: InstrumentsFactory,  # noqa: F811
    lab_with: LabWith,
    tmp_path: Path,
) -> None:
    from smartlab_kernel.devices import build_bench
    from smartlab_kernel.plans import Recipe, recipe_scan

    instruments_ioc("AD4:")
    detector = camera(tmp_path, "AD4:", exposure=0.02)
    bench = build_bench(seed=2, time_scale=1000)
    devices = {
        "camera": detector,
        **{k: bench.devices[k] for k in ("dispenser", "reactor", "robot")},
    }
    lab = lab_with(devices)
    recipes = [Recipe({"a": 1}, temperature_c=30, hold_s=10, stir_rpm=0)] * 2
    plan = recipe_scan(
        recipes,
        dispenser=devices["dispenser"],
        reactor=devices["reactor"],
        robot=devices["robot"],
        spectrometer=detector,
    )
    uids = lab.submit(plan).wait(60)
    lab.wait(30)
    counters = []
    for uid in uids:
        stored = lab.catalog[uid]
        assert stored.metadata["stop"]["exit_status"] == "success"
        data = stored["primary"].read()
        assert np.asarray(data["camera_image"].values).shape == (1, HEIGHT, WIDTH)
        counters.append(int(data["camera_cam_array_counter"].values[0]))
    assert counters == [1, 2]
    assert detector.image1.enable.get(as_string=True) == "Disable"  # unstaged after each run

"""PyLabRobot end to end: transfers on the chatterbox backend are Bluesky messages."""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Iterator
from pathlib import Path

import bluesky.plan_stubs as bps
import bluesky.preprocessors as bpp
import pytest
from bluesky.utils import FailedStatus

from smartlab_kernel.devices import DeviceTimeoutError
from smartlab_kernel.devices.labconfig import build_devices, load_lab_config
from smartlab_kernel.testing import require_module

from .conftest import LabWith

require_module("pylabrobot", "pip install pylabrobot")
from pylabrobot.liquid_handling import LiquidHandler  # noqa: E402
from pylabrobot.liquid_handling.backends.chatterbox import (  # noqa: E402
    LiquidHandlerChatterboxBackend,
)
from pylabrobot.resources import (  # noqa: E402
    STARLetDeck,
    cor_96_wellplate_360uL_Fb,
    hamilton_96_tiprack_1000uL_filter,
)
from pylabrobot.resources.volume_tracker import set_volume_tracking  # noqa: E402

from smartlab_kernel.devices.adapters import LiquidHandlerDevice  # noqa: E402

pytestmark = pytest.mark.timeout(60)

CONFIG = """
devices:
  handler:
    kind: pylabrobot
    backend: chatterbox
    deck: STARLetDeck
    resources:
      - {name: tips, type: hamilton_96_tiprack_1000uL_filter, rails: 3}
      - {name: plate, type: cor_96_wellplate_360uL_Fb, rails: 9}
    liquids: {"plate:A1": 200}
    step_timeout: 10
"""


@pytest.fixture
def handler(tmp_path: Path) -> Iterator[LiquidHandlerDevice]:
    path = tmp_path / "lab.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    device = build_devices(load_lab_config(path))["handler"]
    assert isinstance(device, LiquidHandlerDevice)
    yield device
    device.close()


def test_transfers_are_bluesky_messages_with_volumes_in_the_documents(
    handler: LiquidHandlerDevice, lab_with: LabWith
) -> None:
    lab = lab_with({"handler": handler})

    @bpp.run_decorator(md={"plan_name": "serial_dilution"})
    def plan():  # type: ignore[no-untyped-def]
        for source, destination, volume in [("A1", "B1", 100.0), ("B1", "C1", 40.0)]:
            yield from bps.mv(
                handler,
                {
                    "source": f"plate:{source}",
                    "destination": f"plate:{destination}",
                    "volume_ul": volume,
                },
            )
            yield from bps.trigger_and_read([handler])
        yield from bps.mv(handler.aspirate, {"well": "plate:A1", "volume_ul": 25})
        yield from bps.mv(handler.dispense, {"well": "plate:D1", "volume_ul": 25})
        yield from bps.trigger_and_read([handler.aspirate, handler.dispense], name="steps")

    (uid,) = lab.submit(plan()).wait(30)
    lab.wait(30)
    stored = lab.catalog[uid]
    data = stored["primary"].read()
    assert list(data["handler_volume_ul"].values) == [100.0, 40.0]
    assert list(data["handler_source"].values) == ["plate:A1", "plate:B1"]
    assert list(data["handler_destination"].values) == ["plate:B1", "plate:C1"]
    # PyLabRobot tracked the volumes: 200 - 100 in A1; 100 - 40 in B1; 40 in C1.
    assert list(data["handler_source_volume_ul"].values) == [100.0, 60.0]
    assert list(data["handler_destination_volume_ul"].values) == [100.0, 40.0]
    assert list(data["handler_transfers"].values) == [1, 2]
    steps = stored["steps"].read()
    assert float(steps["handler_aspirate_volume_ul"][0]) == 25.0
    assert str(steps["handler_dispense_well"][0].values) == "plate:D1"
    assert handler.tracked_volume(handler.container("plate:D1")) == 25.0


def test_overdrawing_a_well_fails_the_run_and_keeps_earlier_events(
    handler: LiquidHandlerDevice, lab_with: LabWith
) -> None:
    lab = lab_with({"handler": handler})

    @bpp.run_decorator(md={"plan_name": "overdraw"})
    def plan():  # type: ignore[no-untyped-def]
        yield from bps.mv(
            handler, {"source": "plate:A1", "destination": "plate:B1", "volume_ul": 150}
        )
        yield from bps.trigger_and_read([handler])
        yield from bps.mv(
            handler, {"source": "plate:A1", "destination": "plate:B1", "volume_ul": 150}
        )

    run = lab.submit(plan())
    with pytest.raises(FailedStatus, match="Not enough liquid"):
        run.wait(30)
    lab.wait(30)
    stored = lab.catalog[run.uids[0]]
    assert stored.metadata["stop"]["exit_status"] == "fail"
    # the session records the device's own error, not the failed status's repr
    assert stored.metadata["stop"]["reason"].startswith("TooLittleLiquidError")
    assert "Not enough liquid" in stored.metadata["stop"]["reason"]
    assert list(stored["primary"].read()["handler_volume_ul"].values) == [150.0]


def test_bad_steps_are_refused_before_anything_moves(handler: LiquidHandlerDevice) -> None:
    with pytest.raises(ValueError, match=r"no resource named 'plat'.*resources: \["):
        handler.set({"source": "plat:A1", "destination": "plate:B1", "volume_ul": 5})
    with pytest.raises(ValueError, match=r"plate 'plate' has no well 'Z99'"):
        handler.set({"source": "plate:Z99", "destination": "plate:B1", "volume_ul": 5})
    with pytest.raises(TypeError, match=r"needs a dict with keys \['source', 'destination'"):
        handler.set({"from": "plate:A1", "volume_ul": 5})
    with pytest.raises(ValueError, match="more than 0 uL"):
        handler.set({"source": "plate:A1", "destination": "plate:B1", "volume_ul": 0})
    assert math.isnan(float(handler.source_volume_ul.get()))
    assert handler.transfers.get() == 0


def test_a_step_that_hangs_fails_with_a_timeout_naming_the_device(
    handler: LiquidHandlerDevice,
) -> None:
    handler.step_timeout = 0.2

    async def hang() -> None:
        import asyncio

        await asyncio.sleep(10)

    status = handler.run_step("a stuck aspiration", hang())
    with pytest.raises(
        TimeoutError,
        match=r"device 'handler' at PyLabRobot chatterbox backend "
        r"did not finish a stuck aspiration within its timeout of 0.2 s",
    ):
        status.wait(5)


class FreezingChatterbox(LiquidHandlerChatterboxBackend):
    """PyLabRobot's simulation backend whose ``freeze_at``-th aspiration never answers.

    Like an instrument whose link hangs mid-command: the step neither finishes nor fails.
    """

    def __init__(self, freeze_at: int) -> None:
        super().__init__(num_channels=1)
        self.freeze_at = freeze_at
        self.aspirations = 0

    async def aspirate(self, ops, use_channels, **backend_kwargs):  # type: ignore[no-untyped-def]
        self.aspirations += 1
        if self.aspirations == self.freeze_at:
            await asyncio.sleep(3600)
        await super().aspirate(ops, use_channels, **backend_kwargs)


def test_a_step_that_hangs_inside_a_run_fails_the_run_and_loses_nothing(
    lab_with: LabWith,
) -> None:
    set_volume_tracking(True)
    deck = STARLetDeck()
    deck.assign_child_resource(hamilton_96_tiprack_1000uL_filter(name="tips"), rails=3)
    deck.assign_child_resource(cor_96_wellplate_360uL_Fb(name="plate"), rails=9)
    handler = LiquidHandlerDevice(
        handler=LiquidHandler(FreezingChatterbox(freeze_at=2), deck),
        tip_rack="tips",
        step_timeout=0.5,
        endpoint="PyLabRobot FreezingChatterbox backend",
        name="handler",
    )
    handler.container("plate:A1").tracker.set_volume(200.0)
    try:
        lab = lab_with({"handler": handler})

        def transfer(destination: str, volume: float):  # type: ignore[no-untyped-def]
            return bps.mv(
                handler,
                {"source": "plate:A1", "destination": destination, "volume_ul": volume},
            )

        @bpp.run_decorator(md={"plan_name": "two_transfers"})
        def plan():  # type: ignore[no-untyped-def]
            yield from transfer("plate:B1", 100.0)
            yield from bps.trigger_and_read([handler])
            yield from transfer("plate:C1", 50.0)  # the backend freezes while aspirating
            yield from bps.trigger_and_read([handler])

        run = lab.submit(plan())
        with pytest.raises(FailedStatus) as info:
            run.wait(30)
        error = info.value.__cause__
        assert isinstance(error, DeviceTimeoutError)
        assert run.state == "failed"
        lab.wait(30)
        stored = lab.catalog[run.uids[0]]
        stop = stored.metadata["stop"]
        assert stop["exit_status"] == "fail"
        assert stop["reason"] == f"DeviceTimeoutError: {error}"
        assert stop["reason"].startswith(
            "DeviceTimeoutError: device 'handler' at PyLabRobot FreezingChatterbox backend did "
            "not finish transferring 50 uL from plate:A1 to plate:C1 within its timeout of "
            "0.5 s; expected the backend to confirm the step"
        )
        # The first transfer's event is in the catalog.
        data = stored["primary"].read()
        assert list(data["handler_volume_ul"].values) == [100.0]
        assert list(data["handler_source_volume_ul"].values) == [100.0]
        assert list(data["handler_transfers"].values) == [1]
        # PyLabRobot keeps only what the instrument confirmed: the frozen aspiration is
        # not counted, so the next transfer starts from the confirmed 100 uL in A1.
        assert handler.tracked_volume(handler.container("plate:A1")) == 100.0
        assert handler.tracked_volume(handler.container("plate:C1")) == 0.0

        @bpp.run_decorator(md={"plan_name": "after_the_freeze"})
        def again():  # type: ignore[no-untyped-def]
            yield from transfer("plate:D1", 30.0)
            yield from bps.trigger_and_read([handler])

        (uid,) = lab.submit(again()).wait(30)
        lab.wait(30)
        after = lab.catalog[uid]
        assert after.metadata["stop"]["exit_status"] == "success"
        assert list(after["primary"].read()["handler_source_volume_ul"].values) == [70.0]
        assert handler.tracked_volume(handler.container("plate:D1")) == 30.0
    finally:
        handler.close()


# -- PyLabRobot's own resources and calls (issue 20, item 5) -------------------------

from pylabrobot.resources import Plate, TipRack  # noqa: E402

from smartlab_kernel.devices.adapters.pipetting_step import PipettingStep  # noqa: E402
from smartlab_kernel.devices.labconfig import LabConfigError, parse_config_text  # noqa: E402
from smartlab_kernel.plans import liquid_handling as lhp  # noqa: E402

EIGHT_CHANNELS = """
devices:
  handler:
    kind: pylabrobot
    backend: chatterbox
    num_channels: 8
    deck: STARLetDeck
    resources:
      - {name: tips, type: hamilton_96_tiprack_1000uL_filter, rails: 3}
      - {name: plate, type: cor_96_wellplate_360uL_Fb, rails: 9}
      - {name: reservoir, type: cor_96_wellplate_360uL_Fb, rails: 15}
    step_timeout: 10
"""


def build_handler(tmp_path: Path, text: str) -> LiquidHandlerDevice:
    path = tmp_path / "lab.yaml"
    path.write_text(text, encoding="utf-8")
    device = build_devices(load_lab_config(path))["handler"]
    assert isinstance(device, LiquidHandlerDevice)
    return device


def deck_item(handler: LiquidHandlerDevice, name: str):  # type: ignore[no-untyped-def]
    return handler.handler.deck.get_resource(name)


def test_plans_take_pylabrobot_resources_and_record_every_wells_volume(
    tmp_path: Path, lab_with: LabWith
) -> None:
    handler = build_handler(tmp_path, EIGHT_CHANNELS)
    try:
        plate, reservoir, tips = (deck_item(handler, n) for n in ("plate", "reservoir", "tips"))
        assert isinstance(plate, Plate) and isinstance(tips, TipRack)
        for well in reservoir["A1:H1"]:
            well.tracker.set_volume(300.0)
        lab = lab_with({"handler": handler})

        @bpp.run_decorator(md={"plan_name": "column_dilution"})
        def plan():  # type: ignore[no-untyped-def]
            # eight channels at once, the way PyLabRobot users write it
            yield from lhp.pick_up_tips(handler, tips["A1:H1"])
            yield from lhp.aspirate(
                handler, reservoir["A1:H1"], vols=[10, 20, 30, 40, 50, 60, 70, 80]
            )
            yield from lhp.dispense(handler, plate["A1:H1"], vols=[10, 20, 30, 40, 50, 60, 70, 80])
            yield from lhp.discard_tips(handler)
            yield from lhp.pick_up_tips(handler, tips["A2"])
            yield from lhp.transfer(
                handler, plate["H1"], plate["A2:D2"], source_vol=60, ratios=[3, 1, 1, 1]
            )
            yield from lhp.drop_tips(handler, tips["A2"])

        (uid,) = lab.submit(plan()).wait(30)
        lab.wait(30)
        stored = lab.catalog[uid]
        assert stored.metadata["stop"]["exit_status"] == "success"
        steps = stored["liquid_handling"].read()
        assert list(steps["handler_step_action"].values) == [
            "pick_up_tips", "aspirate", "dispense", "discard_tips",
            "pick_up_tips", "transfer", "drop_tips",
        ]  # fmt: skip
        assert list(steps["handler_step_count"].values) == [1, 2, 3, 4, 5, 6, 7]
        assert str(steps["handler_step_wells"].values[1]) == ", ".join(
            f"reservoir:{row}1" for row in "ABCDEFGH"
        )
        assert str(steps["handler_step_wells"].values[5]) == (
            "plate:H1, plate:A2, plate:B2, plate:C2, plate:D2"
        )
        assert list(steps["handler_step_volume_ul"].values) == [0, 360, 360, 0, 0, 60, 0]
        # Per-well volumes after every step, rows x columns, as PyLabRobot tracked them.
        volumes = steps["handler_volumes_plate"].values
        assert volumes.shape == (7, 8, 12)
        assert list(volumes[2, :, 0]) == [10, 20, 30, 40, 50, 60, 70, 80]
        assert list(volumes[6, :, 0]) == [10, 20, 30, 40, 50, 60, 70, 20]
        assert list(volumes[6, :4, 1]) == [30, 10, 10, 10]
        assert volumes[6, 4:, 1:].sum() == 0
        assert list(steps["handler_volumes_reservoir"].values[6][:, 0]) == [
            290, 280, 270, 260, 250, 240, 230, 220,
        ]  # fmt: skip
        keys = stored["liquid_handling"].metadata["data_keys"]
        assert keys["handler_volumes_plate"]["units"] == "uL"
        assert keys["handler_volumes_plate"]["shape"] == [8, 12]
        assert handler.volumes.volume(plate.get_well("A2")) == 30.0
    finally:
        handler.close()


def test_steps_with_resources_off_the_deck_or_of_the_wrong_kind_are_refused(
    tmp_path: Path,
) -> None:
    handler = build_handler(tmp_path, EIGHT_CHANNELS)
    other = cor_96_wellplate_360uL_Fb(name="elsewhere")
    plate, tips = deck_item(handler, "plate"), deck_item(handler, "tips")
    with pytest.raises(ValueError, match=r"elsewhere:A1 .* is not on this handler's deck"):
        handler.set(PipettingStep("aspirate", other["A1"], (5,)))
    with pytest.raises(ValueError, match=r"aspirate needs Container resources, but tips:A1 is a"):
        handler.set(PipettingStep("aspirate", tips["A1"], (5,)))
    with pytest.raises(ValueError, match=r"pick_up_tips needs TipSpot resources, but plate:A1"):
        next(lhp.pick_up_tips(handler, plate["A1"]))
    with pytest.raises(ValueError, match=r"one volume per well: 2 well\(s\) .* but 3 volume"):
        next(lhp.aspirate(handler, plate["A1:B1"], vols=[1, 2, 3]))
    with pytest.raises(ValueError, match=r"finite and more than 0 uL, got \[0.0\]"):
        next(lhp.dispense(handler, plate["A1"], vols=0))
    with pytest.raises(TypeError, match=r"either source_vol .* or target_vols"):
        next(lhp.transfer(handler, plate["A1"], plate["B1"]))
    with pytest.raises(ValueError, match="one source well, got 2"):
        next(lhp.transfer(handler, plate["A1:B1"], plate["C1"], source_vol=5))
    assert handler.step.count.get() == 0


def test_a_pylabrobot_error_fails_the_run_and_keeps_the_recorded_steps(
    tmp_path: Path, lab_with: LabWith
) -> None:
    handler = build_handler(tmp_path, CONFIG)  # 200 uL in plate:A1, one channel
    try:
        plate, tips = deck_item(handler, "plate"), deck_item(handler, "tips")
        lab = lab_with({"handler": handler})

        @bpp.run_decorator(md={"plan_name": "overdraw_by_resources"})
        def plan():  # type: ignore[no-untyped-def]
            yield from lhp.pick_up_tips(handler, tips["A1"])
            yield from lhp.transfer(handler, plate["A1"], plate["B1"], source_vol=150)
            yield from lhp.transfer(handler, plate["A1"], plate["C1"], source_vol=150)

        run = lab.submit(plan())
        with pytest.raises(FailedStatus, match="Not enough liquid"):
            run.wait(30)
        lab.wait(30)
        stored = lab.catalog[run.uids[0]]
        assert stored.metadata["stop"]["exit_status"] == "fail"
        assert stored.metadata["stop"]["reason"].startswith("TooLittleLiquidError")
        steps = stored["liquid_handling"].read()
        assert list(steps["handler_step_action"].values) == ["pick_up_tips", "transfer"]
        assert list(steps["handler_volumes_plate"].values[-1][:3, 0]) == [50, 150, 0]
        assert handler.volumes.volume(plate.get_well("C1")) == 0.0
    finally:
        handler.close()


OPENTRONS_SIMULATOR = """
devices:
  handler:
    kind: pylabrobot
    backend: opentrons_simulator
    backend_options: {left_pipette_name: p20_single_gen2, right_pipette_name: null}
    deck: OTDeck
    resources:
      - {name: tips, type: hamilton_96_tiprack_10uL_filter, slot: 1}
      - {name: plate, type: cor_96_wellplate_360uL_Fb, slot: 2}
    liquids: {"plate:A1": 100}
    step_timeout: 10
"""


def test_the_opentrons_simulator_backend_is_chosen_in_the_config(
    tmp_path: Path, lab_with: LabWith
) -> None:
    handler = build_handler(tmp_path, OPENTRONS_SIMULATOR)
    try:
        from pylabrobot.liquid_handling.backends import OpentronsOT2Simulator

        assert isinstance(handler.handler.backend, OpentronsOT2Simulator)
        assert "OpentronsOT2Simulator, 1 channel(s)" in handler.check_connection()
        plate, tips = deck_item(handler, "plate"), deck_item(handler, "tips")
        lab = lab_with({"handler": handler})

        @bpp.run_decorator(md={"plan_name": "ot2"})
        def plan():  # type: ignore[no-untyped-def]
            yield from lhp.pick_up_tips(handler, tips["A1"])
            yield from lhp.transfer(handler, plate["A1"], plate["A2:C2"], target_vols=[2, 3, 4])
            yield from lhp.discard_tips(handler)

        (uid,) = lab.submit(plan()).wait(30)
        lab.wait(30)
        steps = lab.catalog[uid]["liquid_handling"].read()
        assert list(steps["handler_volumes_plate"].values[-1][:4, :2].ravel()) == [
            91, 2,  # A1 gave 2 + 3 + 4 uL to A2, B2, C2
            0, 3,
            0, 4,
            0, 0,
        ]  # fmt: skip
    finally:
        handler.close()


def test_backends_are_chosen_by_name_and_an_unknown_one_names_those_allowed() -> None:
    text = EIGHT_CHANNELS.replace("backend: chatterbox", "backend: hamiltonstar")
    with pytest.raises(LabConfigError) as info:
        parse_config_text(text, "yaml", "lab.yaml")
    (problem,) = info.value.problems
    assert "field 'backend' = 'hamiltonstar' is not allowed" in problem
    for name in ("chatterbox", "opentrons_simulator", "star", "vantage", "evo", "opentrons"):
        assert f"'{name}'" in problem
    bad_option = OPENTRONS_SIMULATOR.replace("right_pipette_name: null", "right_pipete: null")
    with pytest.raises(LabConfigError, match=r"'right_pipete' is not a parameter of "
                       r"OpentronsOT2Simulator .*allowed: \['left_pipette_name', "
                       r"'right_pipette_name'\]"):  # fmt: skip
        parse_config_text(bad_option, "yaml", "lab.yaml")


def test_a_real_backend_is_built_by_name_without_touching_the_instrument(tmp_path: Path) -> None:
    from pylabrobot.liquid_handling.backends import STARBackend

    handler = build_handler(
        tmp_path,
        EIGHT_CHANNELS.replace("backend: chatterbox", "backend: star").replace(
            "num_channels: 8", "backend_options: {read_timeout: 5}"
        ),
    )
    assert isinstance(handler.handler.backend, STARBackend)
    assert handler.endpoint == "PyLabRobot star backend"
    assert not handler._set_up  # set up (USB) only when the first step runs


class SlowChatterbox(LiquidHandlerChatterboxBackend):
    """PyLabRobot's simulation backend taking ``seconds`` per aspiration, like an instrument."""

    def __init__(self, seconds: float) -> None:
        super().__init__(num_channels=1)
        self.seconds = seconds
        self.aspirating = threading.Event()

    async def aspirate(self, ops, use_channels, **backend_kwargs):  # type: ignore[no-untyped-def]
        self.aspirating.set()
        await asyncio.sleep(self.seconds)
        await super().aspirate(ops, use_channels, **backend_kwargs)


def handler_on(backend: LiquidHandlerChatterboxBackend, step_timeout: float) -> LiquidHandlerDevice:
    set_volume_tracking(True)
    deck = STARLetDeck()
    deck.assign_child_resource(hamilton_96_tiprack_1000uL_filter(name="tips"), rails=3)
    deck.assign_child_resource(cor_96_wellplate_360uL_Fb(name="plate"), rails=9)
    handler = LiquidHandlerDevice(
        handler=LiquidHandler(backend, deck),
        step_timeout=step_timeout,
        endpoint=f"PyLabRobot {type(backend).__name__} backend",
        name="handler",
    )
    handler.container("plate:A1").tracker.set_volume(200.0)
    return handler


def test_a_pause_during_a_step_lets_it_finish_and_the_run_succeeds(lab_with: LabWith) -> None:
    """Bluesky stops every moved object when it pauses; a PyLabRobot step cannot be
    stopped half-way and finishes. The lab failed such a run (StepInterruptedError:
    'may have been stopped short') although the backend had confirmed the step."""
    import time

    backend = SlowChatterbox(seconds=1.0)
    handler = handler_on(backend, step_timeout=10)
    try:
        deck = handler.handler.deck
        plate, tips = deck.get_resource("plate"), deck.get_resource("tips")
        lab = lab_with({"handler": handler})

        @bpp.run_decorator(md={"plan_name": "paused_transfer"})
        def plan():  # type: ignore[no-untyped-def]
            yield from lhp.pick_up_tips(handler, tips["A1"])
            yield from lhp.transfer(handler, plate["A1"], plate["B1"], source_vol=50)

        run = lab.submit(plan())
        assert backend.aspirating.wait(20)
        lab.pause(reason="operator checks the plate")  # in the middle of the aspiration
        time.sleep(1.0)
        lab.resume()
        (uid,) = run.wait(30)
        lab.wait(30)
        stored = lab.catalog[uid]
        assert stored.metadata["stop"]["exit_status"] == "success"
        assert "operator checks the plate" in stored.metadata["stop"]["reason"]
        steps = stored["liquid_handling"].read()
        assert list(steps["handler_step_action"].values) == ["pick_up_tips", "transfer"]
        assert list(steps["handler_volumes_plate"].values[-1][:2, 0]) == [150.0, 50.0]
    finally:
        handler.close()


def test_a_pipetting_step_that_hangs_fails_the_run_and_rolls_back_its_volumes(
    lab_with: LabWith,
) -> None:
    handler = handler_on(FreezingChatterbox(freeze_at=2), step_timeout=0.5)
    try:
        deck = handler.handler.deck
        plate, tips = deck.get_resource("plate"), deck.get_resource("tips")
        lab = lab_with({"handler": handler})

        @bpp.run_decorator(md={"plan_name": "hang_in_a_transfer"})
        def plan():  # type: ignore[no-untyped-def]
            yield from lhp.pick_up_tips(handler, tips["A1"])
            yield from lhp.transfer(handler, plate["A1"], plate["B1"], source_vol=100)
            yield from lhp.transfer(handler, plate["A1"], plate["C1:D1"], target_vols=[20, 30])

        run = lab.submit(plan())
        with pytest.raises(FailedStatus):
            run.wait(30)
        lab.wait(30)
        stored = lab.catalog[run.uids[0]]
        assert stored.metadata["stop"]["reason"].startswith(
            "DeviceTimeoutError: device 'handler' at PyLabRobot FreezingChatterbox backend did "
            "not finish transferring 50 uL from plate:A1 to plate:C1, plate:D1 within its "
            "timeout of 0.5 s"
        )
        steps = stored["liquid_handling"].read()
        assert list(steps["handler_step_count"].values) == [1, 2]
        assert handler.volumes.volume(plate.get_well("A1")) == 100.0  # the hung step rolled back
        assert handler.volumes.volume(plate.get_well("C1")) == 0.0
    finally:
        handler.close()


def test_a_trough_is_recorded_as_one_volume_and_the_trash_is_not(
    tmp_path: Path, lab_with: LabWith
) -> None:
    handler = build_handler(
        tmp_path,
        CONFIG.replace(
            "      - {name: plate, type: cor_96_wellplate_360uL_Fb, rails: 9}\n",
            "      - {name: plate, type: cor_96_wellplate_360uL_Fb, rails: 9}\n"
            "      - {name: buffer, type: hamilton_1_trough_200mL_Vb, rails: 20}\n",
        ).replace('liquids: {"plate:A1": 200}', 'liquids: {"buffer": 50000}'),
    )
    try:
        deck = handler.handler.deck
        buffer, plate, tips = (deck.get_resource(n) for n in ("buffer", "plate", "tips"))
        lab = lab_with({"handler": handler})

        @bpp.run_decorator(md={"plan_name": "from_the_trough"})
        def plan():  # type: ignore[no-untyped-def]
            yield from lhp.pick_up_tips(handler, tips["A1"])
            yield from lhp.aspirate(handler, buffer, vols=300)
            yield from lhp.dispense(handler, plate["A1"], vols=300)

        (uid,) = lab.submit(plan()).wait(30)
        lab.wait(30)
        steps = lab.catalog[uid]["liquid_handling"].read()
        assert list(steps["handler_volumes_buffer"].values) == [50000, 49700, 49700]
        assert str(steps["handler_step_wells"].values[1]) == "buffer"
        assert float(steps["handler_volumes_plate"].values[-1][0, 0]) == 300.0
        assert not [key for key in steps.data_vars if "trash" in key]
    finally:
        handler.close()


def test_a_backend_whose_package_is_missing_says_what_to_install(tmp_path: Path) -> None:
    import importlib.util

    if importlib.util.find_spec("ot_api") is not None:
        pytest.skip("the Opentrons package is installed here")
    text = OPENTRONS_SIMULATOR.replace(
        "backend: opentrons_simulator", "backend: opentrons"
    ).replace(
        "backend_options: {left_pipette_name: p20_single_gen2, right_pipette_name: null}",
        "backend_options: {host: 127.0.0.1}",
    )
    config = parse_config_text(text, "yaml", "lab.yaml")  # the options are the class's own
    with pytest.raises(ImportError, match=r"backend 'opentrons' \(OpentronsOT2Backend\): .*"
                       r"pip install pylabrobot\[opentrons\]"):  # fmt: skip
        build_devices(config)

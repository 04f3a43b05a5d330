"""An ophyd device around a PyLabRobot liquid handler: transfers as Bluesky messages."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Coroutine, Mapping
from typing import Any

from ophyd import Component as Cpt
from ophyd import Device, Signal
from pylabrobot.liquid_handling import LiquidHandler
from pylabrobot.resources import Container, Plate, TipRack

from ..signals import check_number
from .event_loop_thread import EventLoopThread
from .failures import timed_out
from .pipetting_step import LIQUID_ACTIONS, PipettingStep
from .progress_status import ProgressStatus
from .well_volumes import WellVolumes

#: Largest volume one step may move, in microlitres.
MAX_VOLUME_UL = 100_000.0


class PipetteStep(Device):
    """One kind of pipetting step (aspirate or dispense) of a :class:`LiquidHandlerDevice`.

    ``bps.mv(handler.aspirate, {"well": "plate:A1", "volume_ul": 50})``
    aspirates 50 uL from well A1 of the resource named ``plate``; the well and
    volume are then in the step's readings.

    Args:
        action: ``"aspirate"`` or ``"dispense"``.
        **kwargs: Passed to :class:`ophyd.Device`.
    """

    well = Cpt(Signal, value="", kind="normal")
    volume_ul = Cpt(Signal, value=0.0, kind="hinted")

    def __init__(self, prefix: str = "", *, action: str, **kwargs: Any) -> None:
        super().__init__(prefix, **kwargs)
        self.action = action

    def set(self, value: Any) -> ProgressStatus:
        """Do the step: ``value`` is ``{"well": "<resource>:<well>", "volume_ul": <float>}``."""
        handler: LiquidHandlerDevice = self.parent
        (well,), volume = handler.parse_step(value, ("well",), self.name)
        self.well.put(well)
        self.volume_ul.put(volume)
        return handler.run_step(f"{self.action} {volume:g} uL at {well}", self._do(well, volume))

    async def _do(self, well: str, volume: float) -> None:
        handler: LiquidHandlerDevice = self.parent
        await handler.ensure_tip()
        container = handler.container(well)
        if self.action == "aspirate":
            await handler.handler.aspirate([container], vols=[volume])
        else:
            await handler.handler.dispense([container], vols=[volume])


def _on(resource: Any, deck: Any) -> bool:
    """True if ``resource`` is ``deck`` or placed on it (at any depth)."""
    while resource is not None:
        if resource is deck:
            return True
        resource = resource.parent
    return False


class StepRecord(Device):
    """The last :class:`PipettingStep` a :class:`LiquidHandlerDevice` was given.

    Its readings: ``action`` (``"aspirate"``, ...), ``wells`` (addresses such as
    ``"plate:A1, plate:B1"``) and ``volume_ul`` (the step's total), set when the
    step starts, and ``count``, the steps the backend has confirmed so far.
    """

    action = Cpt(Signal, value="", kind="normal")
    wells = Cpt(Signal, value="", kind="normal")
    volume_ul = Cpt(Signal, value=0.0, kind="hinted")
    count = Cpt(Signal, value=0, kind="normal")


class LiquidHandlerDevice(Device):
    """A PyLabRobot :class:`~pylabrobot.liquid_handling.LiquidHandler` as an ophyd device.

    PyLabRobot's own calls, with its resources, are Bluesky messages:
    ``bps.mv(handler, PipettingStep("transfer", (plate["A1"][0], plate["B1"][0]), (50,)))``
    runs ``lh.transfer(...)``; the plans in :mod:`smartlab_kernel.plans.liquid_handling`
    (``aspirate``, ``dispense``, ``transfer``, ``pick_up_tips``, ...) build these steps
    and record each one with the volumes in every well (``handler.step`` and
    ``handler.volumes``).

    The older form with addresses still works:
    ``bps.mv(handler, {"source": "plate:A1", "destination": "plate:B1", "volume_ul": 50})``
    transfers 50 uL with one channel: it picks up the next tip from
    ``tip_rack`` (unless one is mounted), aspirates, dispenses and discards
    the tip. Reading the device (``bps.trigger_and_read([handler])``) records
    the last transfer's source, destination and volume, and the volumes left
    in both wells when PyLabRobot tracks volumes. ``handler.aspirate`` and
    ``handler.dispense`` do single steps.

    Args:
        handler: The liquid handler (its backend decides real or simulated).
        tip_rack: Name of the tip rack on the deck to take tips from.
        new_tip_per_transfer: Discard the tip after each transfer.
        step_timeout: Seconds one step may take before it fails.
        endpoint: Where the handler is reached, for error messages
            (default: the backend's class name).
        **kwargs: Passed to :class:`ophyd.Device` (``name`` is required).
    """

    source = Cpt(Signal, value="", kind="normal")
    destination = Cpt(Signal, value="", kind="normal")
    volume_ul = Cpt(Signal, value=0.0, kind="hinted")
    source_volume_ul = Cpt(Signal, value=float("nan"), kind="normal")
    destination_volume_ul = Cpt(Signal, value=float("nan"), kind="normal")
    transfers = Cpt(Signal, value=0, kind="normal")
    aspirate = Cpt(PipetteStep, action="aspirate")
    dispense = Cpt(PipetteStep, action="dispense")
    step = Cpt(StepRecord, kind="omitted")

    #: A step cannot be stopped half-way: when Bluesky pauses (``stop(success=True)``)
    #: it finishes, and what finished is what the backend confirmed.
    resumes_after_pause = True

    def __init__(
        self,
        prefix: str = "",
        *,
        handler: LiquidHandler,
        tip_rack: str | None = None,
        new_tip_per_transfer: bool = True,
        step_timeout: float = 120.0,
        endpoint: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(prefix, **kwargs)
        self.handler = handler
        self.tip_rack = tip_rack
        self.new_tip_per_transfer = new_tip_per_transfer
        self.step_timeout = float(step_timeout)
        self.endpoint = endpoint or type(handler.backend).__name__
        self._loop = EventLoopThread(f"{self.name}-pylabrobot")
        self._set_up = False
        #: Volumes in every plate and container on the deck (a Bluesky readable).
        self.volumes = WellVolumes(f"{self.name}_volumes", handler.deck)

    # -- connecting -----------------------------------------------------------

    def connect(self) -> None:
        """Set up the liquid handler (idempotent); done before the first step.

        Raises:
            DeviceTimeoutError: If setup does not finish within ``step_timeout``.
        """
        if self._set_up:
            return
        try:
            self._loop.run(self.handler.setup(), self.step_timeout)
        except concurrent.futures.TimeoutError as exc:
            raise timed_out(self.name, self.endpoint, "setup", self.step_timeout) from exc
        self._set_up = True

    def check_connection(self, timeout: float = 10.0) -> str:
        """Set up the handler and return a one-line summary of what answered.

        Args:
            timeout: Unused: setup is bounded by ``step_timeout``.
        """
        self.connect()
        deck = self.handler.deck
        return (
            f"{type(self.handler.backend).__name__}, {self.handler.backend.num_channels} "
            f"channel(s), deck {type(deck).__name__} with {len(deck.children)} resources"
        )

    def close(self) -> None:
        """Stop the liquid handler and its event loop."""
        if self._set_up:
            self._loop.run(self.handler.stop(), self.step_timeout)
            self._set_up = False
        self._loop.close()

    # -- the deck --------------------------------------------------------------

    def container(self, address: str) -> Container:
        """Return the well or container at ``"<resource>:<well>"`` (or ``"<resource>"``).

        Raises:
            ValueError: If the resource or well is not on the deck, or is not a container.
        """
        name, _, well = address.partition(":")
        deck = self.handler.deck
        try:
            resource = deck.get_resource(name)
        except Exception:
            names = sorted(r.name for r in deck.children)
            raise ValueError(
                f"{self.name}: no resource named {name!r} on the deck (from {address!r}); "
                f"resources: {names}; address wells as '<resource>:<well>', e.g. 'plate:A1'"
            ) from None
        if well:
            if not isinstance(resource, Plate):
                raise ValueError(
                    f"{self.name}: {name!r} is a {type(resource).__name__}, not a plate; "
                    f"address it without a well (got {address!r})"
                )
            try:
                found: Container = resource.get_well(well)
            except Exception:
                raise ValueError(
                    f"{self.name}: plate {name!r} has no well {well!r} "
                    f"({resource.num_items_y} rows x {resource.num_items_x} columns, e.g. 'A1')"
                ) from None
            return found
        if not isinstance(resource, Container):
            raise ValueError(
                f"{self.name}: {address!r} is a {type(resource).__name__}, which holds no "
                "liquid; give a well ('plate:A1') or a trough/tube"
            )
        return resource

    @staticmethod
    def tracked_volume(container: Container) -> float:
        """Volume PyLabRobot tracks in ``container`` (NaN when not tracked)."""
        tracker = getattr(container, "tracker", None)
        if tracker is None or tracker.is_disabled:
            return float("nan")
        return float(tracker.get_used_volume())

    async def ensure_tip(self) -> None:
        """Pick up the next tip from ``tip_rack`` if channel 0 holds none."""
        if self.handler.head[0].has_tip:
            return
        if self.tip_rack is None:
            raise RuntimeError(
                f"{self.name}: no tip mounted and no tip_rack configured; name the tip rack "
                "on the deck with tip_rack=..."
            )
        rack = self.handler.deck.get_resource(self.tip_rack)
        if not isinstance(rack, TipRack):
            raise ValueError(f"{self.name}: {self.tip_rack!r} is not a tip rack")
        spots = [spot for spot in rack.get_all_items() if spot.has_tip()]
        if not spots:
            raise RuntimeError(f"{self.name}: tip rack {self.tip_rack!r} is empty; refill it")
        await self.handler.pick_up_tips([spots[0]], use_channels=[0])

    # -- steps -----------------------------------------------------------------

    def parse_step(
        self, value: Any, well_keys: tuple[str, ...], what: str
    ) -> tuple[list[str], float]:
        """Check a step's ``{key: value}``; return its wells (in ``well_keys`` order) and uL.

        Raises:
            TypeError: If ``value`` is not a dict with exactly ``well_keys`` and ``volume_ul``.
            ValueError: If a well is not on the deck.
            LimitError: If the volume is not in ``(0, MAX_VOLUME_UL]``.
        """
        keys = [*well_keys, "volume_ul"]
        if not isinstance(value, Mapping) or set(value) != set(keys):
            example = {k: ("plate:A1" if k != "volume_ul" else 50) for k in keys}
            raise TypeError(f"{what} needs a dict with keys {keys}, e.g. {example}; got {value!r}")
        wells = [str(value[k]) for k in well_keys]
        for well in wells:
            self.container(well)
        volume = check_number(f"{what} volume", value["volume_ul"], 0.0, MAX_VOLUME_UL, "uL")
        if volume <= 0:
            raise ValueError(f"{what} volume must be more than 0 uL, got {volume!r}")
        return wells, volume

    def run_step(self, doing: str, coroutine: Coroutine[Any, Any, Any]) -> ProgressStatus:
        """Run a pipetting coroutine on the handler's loop; return its status.

        The status fails with the handler's own error (e.g. too little liquid)
        or with :class:`~smartlab_kernel.devices.errors.DeviceTimeoutError`
        after ``step_timeout`` seconds. A step that times out is cancelled and
        PyLabRobot's trackers (volumes, tips) are rolled back to the last
        confirmed operation before the status fails, so they count only what
        the instrument confirmed.
        """
        self.connect()
        status = ProgressStatus(self, unit="uL", call_stop_on_failure=False)
        future = self._loop.submit(self._bounded(doing, coroutine))

        def done(fut: concurrent.futures.Future[Any]) -> None:
            if status.done:
                return
            if fut.cancelled():
                status.set_exception(timed_out(self.name, self.endpoint, doing, self.step_timeout))
                return
            error = fut.exception()
            if error is not None:
                status.set_exception(error)
            else:
                status.set_finished()

        future.add_done_callback(done)
        return status

    async def _bounded(self, doing: str, coroutine: Coroutine[Any, Any, Any]) -> Any:
        """Await ``coroutine`` for at most ``step_timeout`` s; roll back trackers if it hangs."""
        deadline = asyncio.timeout(self.step_timeout)
        try:
            async with deadline:
                return await coroutine
        except TimeoutError:
            if not deadline.expired():
                raise  # the driver's own timeout: PyLabRobot has rolled back already
            self.roll_back_unconfirmed()
            raise timed_out(
                self.name,
                self.endpoint,
                doing,
                self.step_timeout,
                "the backend to confirm the step; it was cancelled and PyLabRobot's tracked "
                "volumes and tips were rolled back to the last confirmed operation",
            ) from None

    def roll_back_unconfirmed(self) -> None:
        """Drop PyLabRobot tracker operations that were queued but never confirmed.

        PyLabRobot queues an operation on its trackers, then commits it when the
        backend confirms or rolls it back when the backend fails; a cancelled
        operation does neither, and its queued change would be committed by the
        next confirmed one. Steps run one at a time, so everything queued belongs
        to the cancelled step.
        """
        for resource in self.handler.deck.get_all_children():
            tracker = getattr(resource, "tracker", None)
            if tracker is not None and callable(getattr(tracker, "rollback", None)):
                tracker.rollback()
        for channel in self.handler.head.values():
            channel.rollback()
            if channel.has_tip:
                channel.get_tip().tracker.rollback()

    def set(self, value: Any) -> ProgressStatus:
        """Run a :class:`PipettingStep`, or transfer by addresses.

        Args:
            value: A :class:`PipettingStep`, or ``{"source": ..., "destination":
                ..., "volume_ul": ...}`` with addresses such as ``"plate:A1"``.

        Raises:
            ValueError: If a resource is not on this handler's deck, or the step is
                not one the handler can do (checked before anything moves).
            TypeError: If ``value`` is neither.
        """
        if isinstance(value, PipettingStep):
            return self._run_pipetting_step(value)
        (source, destination), volume = self.parse_step(
            value, ("source", "destination"), f"{self.name} transfer"
        )
        self.source.put(source)
        self.destination.put(destination)
        self.volume_ul.put(volume)
        return self.run_step(
            f"transferring {volume:g} uL from {source} to {destination}",
            self._transfer(source, destination, volume),
        )

    async def _transfer(self, source: str, destination: str, volume: float) -> None:
        await self.ensure_tip()
        source_well, destination_well = self.container(source), self.container(destination)
        await self.handler.aspirate([source_well], vols=[volume])
        await self.handler.dispense([destination_well], vols=[volume])
        if self.new_tip_per_transfer:
            await self.handler.discard_tips()
        self.source_volume_ul.put(self.tracked_volume(source_well))
        self.destination_volume_ul.put(self.tracked_volume(destination_well))
        self.transfers.put(int(self.transfers.get()) + 1)

    # -- PyLabRobot's own calls --------------------------------------------------

    def check_on_deck(self, step: PipettingStep) -> None:
        """Refuse a step whose resources are not on this handler's deck, or of the wrong kind.

        Raises:
            ValueError: Naming the resource, what it is and what the step needs.
        """
        from pylabrobot.resources import Container, TipSpot, Trash

        deck = self.handler.deck
        for resource, where in zip(step.resources, step.wells, strict=True):
            if not _on(resource, deck):
                names = sorted(r.name for r in deck.children)
                raise ValueError(
                    f"{self.name}: {where} ({type(resource).__name__} {resource.name!r}) is "
                    f"not on this handler's deck; labware on the deck: {names}"
                )
            if step.action in LIQUID_ACTIONS:
                needed: tuple[type, ...] = (Container,)
            elif step.action == "pick_up_tips":
                needed = (TipSpot,)
            else:
                needed = (TipSpot, Trash)
            if not isinstance(resource, needed):
                raise ValueError(
                    f"{self.name}: {step.action} needs {' or '.join(t.__name__ for t in needed)} "
                    f"resources, but {where} is a {type(resource).__name__}"
                    + (" (index a plate: plate['A1'])" if step.action in LIQUID_ACTIONS else "")
                )

    def _run_pipetting_step(self, step: PipettingStep) -> ProgressStatus:
        self.check_on_deck(step)
        self.step.action.put(step.action)
        self.step.wells.put(", ".join(step.wells))
        self.step.volume_ul.put(sum(step.volumes))
        return self.run_step(step.describe(), self._pipetting_step(step))

    async def _pipetting_step(self, step: PipettingStep) -> None:
        await step.run(self.handler)
        self.step.count.put(int(self.step.count.get()) + 1)

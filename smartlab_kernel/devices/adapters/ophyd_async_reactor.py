"""An ophyd-async device for the reactor IOC: the newer Bluesky device stack, same PVs.

It is written the way ophyd-async's own EPICS devices are: signals declared
with ``PvSuffix`` annotations, moves through a ``MovableLogic``. In a lab
configuration::

    devices:
      hotplate:
        kind: ophyd_async
        device_class: smartlab_kernel.devices.adapters.ophyd_async_reactor:AsyncEpicsReactor
        prefix: "SIM:REACTOR:"
        options: {tolerance: 0.5, settle_timeout: 600}
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import cached_property
from typing import Annotated as A
from typing import Any

from ophyd_async.core import (
    CalculatableTimeout,
    MovableLogic,
    SignalR,
    SignalRW,
    StandardMovable,
    StandardReadable,
    TimeoutCalculator,
    WatchableAsyncStatus,
    WatcherUpdate,
    set_and_wait_for_other_value,
)
from ophyd_async.core import StandardReadableFormat as Format
from ophyd_async.epics.core import EpicsDevice, PvSuffix

from ..errors import DeviceTimeoutError
from .failures import not_answering, timed_out

log = logging.getLogger(__name__)


@dataclass
class SettleLogic(MovableLogic[float]):
    """Write the setpoint, wait for the readback to come within ``tolerance`` of it.

    Attributes:
        tolerance: How close the readback must come, in the device's units.
        settle_timeout: Seconds the readback may take to get there.
    """

    tolerance: float = 0.5
    settle_timeout: float = 600.0
    owner: Any = None
    endpoint: str = ""

    async def stop(self) -> None:
        """Hold the temperature where it is now: its readback becomes the setpoint."""
        current = await self.readback.get_value()
        key = (await self.setpoint.describe())[self.setpoint.name]
        control = key.get("limits", {}).get("control", {})
        low, high = control.get("low"), control.get("high")
        if low is not None and high is not None and low < high:
            current = min(max(current, low), high)
        await self.setpoint.set(current)

    async def check_move(self, new_position: float) -> None:
        """Refuse a value outside the setpoint PV's control limits, before writing it.

        Raises:
            ValueError: Naming the value, the limits and the units.
        """
        key = (await self.setpoint.describe())[self.setpoint.name]
        control = key.get("limits", {}).get("control", {})
        low, high = control.get("low"), control.get("high")
        units = key.get("units", "")
        if not math.isfinite(new_position):
            raise ValueError(f"{self.setpoint.name}: {new_position!r} is not a finite number")
        if low is not None and high is not None and low < high and not low <= new_position <= high:
            raise ValueError(
                f"{self.setpoint.name}: {new_position:g} {units} is outside the setpoint's "
                f"limits [{low:g}, {high:g}] {units}"
            )

    async def calculate_timeout(self, old_position: float, new_position: float) -> float:
        """Every move may take ``settle_timeout`` seconds."""
        return self.settle_timeout

    async def move(self, new_position: float, timeout: TimeoutCalculator) -> None:
        """Write the setpoint (put-completion) and wait for the readback to settle.

        Raises:
            DeviceTimeoutError: If the readback does not come within ``tolerance``
                in time, naming the device, its PVs, the target and the last reading.
        """
        seconds = timeout()
        try:
            await set_and_wait_for_other_value(
                self.setpoint,
                new_position,
                self.readback,
                lambda value: abs(value - new_position) <= self.tolerance,
                timeout=seconds,
            )
        except TimeoutError:
            units = (await self.get_units_precision())[0] or ""
            try:
                value = await asyncio.wait_for(self.readback.get_value(), 1.0)
                last = f" (last read {value:.4g} {units})"
            except TimeoutError:
                last = " (it does not answer now)"
            raise timed_out(
                self.owner.name if self.owner is not None else self.setpoint.name,
                self.endpoint,
                f"moving to {new_position:g} {units}",
                self.settle_timeout,
                f"the readback {self.readback.source} within {self.tolerance:g} {units} of "
                f"{new_position:g} {units}{last}",
            ) from None


class AsyncEpicsReactor(EpicsDevice, StandardReadable, StandardMovable[float]):
    """The reactor IOC's PVs as an ophyd-async device; ``bps.mv(reactor, 60)`` heats to 60.

    Readings: ``<name>`` (the temperature, hinted) and ``<name>_stir_rpm`` in a
    lab (ophyd-async's own separator is ``-``); the setpoint is configuration.
    ``bps.mv(reactor.stir_rpm, 300)`` sets stirring.

    A pause holds a move: the heater keeps its setpoint and, after resume, the
    plan waits for the rest of the move (``resumes_after_pause``). An abort
    or an operator's stop holds the temperature where it is.

    Args:
        prefix: PV prefix, e.g. ``"SIM:REACTOR:"``.
        tolerance: How close the temperature must come to its setpoint, in degC.
        settle_timeout: Seconds a temperature change may take.
        name: The device's name (``init_devices`` sets it from the variable).
    """

    temperature: A[SignalR[float], PvSuffix("TEMP_RBV"), Format.HINTED_SIGNAL]
    setpoint: A[SignalRW[float], PvSuffix("TEMP_SP"), Format.CONFIG_SIGNAL]
    stir_rpm: A[SignalRW[float], PvSuffix("STIR_RBV", "STIR_SP"), Format.UNCACHED_SIGNAL]

    #: A pause (Bluesky's ``stop(success=True)``) holds the move instead of ending it.
    resumes_after_pause = True

    def __init__(
        self,
        prefix: str = "",
        *,
        tolerance: float = 0.5,
        settle_timeout: float = 600.0,
        name: str = "",
    ) -> None:
        self._tolerance = float(tolerance)
        self._settle_timeout = float(settle_timeout)
        self.prefix = prefix
        super().__init__(prefix, name=name)

    async def stop(self, success: bool = False) -> None:
        """Stop: a pause (``success=True``) lets the move go on; otherwise hold where it is."""
        if success:
            return
        await super().stop(success=False)

    def discard_pending(self, reason: str) -> None:
        """End a move a failed or aborted run left going, holding the temperature where it is.

        The lab calls this after such a run (from its worker thread): a pause
        held the move, so it would otherwise go on heating after the run ended.

        Args:
            reason: Why (logged).
        """
        status = self._move_status
        if status is None or status.done:
            return
        stopping = asyncio.run_coroutine_threadsafe(
            self.stop(success=False), status.task.get_loop()
        )
        try:
            stopping.result(10.0)
        except Exception:  # the IOC may be gone: say so, the lab goes on
            log.exception("%s: could not hold the temperature after %s", self.name, reason)
        else:
            log.info("%s: move cancelled, temperature held (%s)", self.name, reason)

    @WatchableAsyncStatus.wrap
    async def set(
        self, new_position: float, timeout: CalculatableTimeout = "CALCULATE_TIMEOUT"
    ) -> AsyncIterator[WatcherUpdate[float]]:
        """Move to ``new_position`` (degC), as ophyd-async movables do.

        Raises:
            ValueError: If it is outside the setpoint PV's limits (nothing is written).
            DeviceTimeoutError: If the temperature does not settle in time.
            DeviceDisconnectedError: If the IOC does not answer.
        """
        moves = StandardMovable.set.__wrapped__(self, new_position, timeout)  # type: ignore[attr-defined]
        try:
            async for update in moves:
                yield update
        except DeviceTimeoutError:
            raise
        except TimeoutError as exc:  # a PV that stopped answering
            raise not_answering(
                self.name, f"PV prefix {self.prefix}", f"moving to {new_position:g}", exc
            ) from None

    @cached_property
    def movable_logic(self) -> SettleLogic:
        """Temperature moves: setpoint then readback within ``tolerance``."""
        return SettleLogic(
            setpoint=self.setpoint,
            readback=self.temperature,
            tolerance=self._tolerance,
            settle_timeout=self._settle_timeout,
            owner=self,
            endpoint=f"PV prefix {self.prefix}",
        )

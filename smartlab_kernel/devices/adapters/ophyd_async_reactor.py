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
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import cached_property
from typing import Annotated as A

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


@dataclass
class SettleLogic(MovableLogic[float]):
    """Write the setpoint, wait for the readback to come within ``tolerance`` of it.

    Attributes:
        tolerance: How close the readback must come, in the device's units.
        settle_timeout: Seconds the readback may take to get there.
    """

    tolerance: float = 0.5
    settle_timeout: float = 600.0
    device: str = ""
    endpoint: str = ""

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
                self.device,
                self.endpoint,
                f"moving to {new_position:g} {units}",
                self.settle_timeout,
                f"the readback {self.readback.source} within {self.tolerance:g} {units} of "
                f"{new_position:g} {units}{last}",
            ) from None


class AsyncEpicsReactor(EpicsDevice, StandardReadable, StandardMovable[float]):
    """The reactor IOC's PVs as an ophyd-async device; ``bps.mv(reactor, 60)`` heats to 60.

    Readings: ``<name>-temperature`` (hinted) and ``<name>-stir_rpm``; the
    setpoint is configuration. ``bps.mv(reactor.stir_rpm, 300)`` sets stirring.

    Args:
        prefix: PV prefix, e.g. ``"SIM:REACTOR:"``.
        tolerance: How close the temperature must come to its setpoint, in degC.
        settle_timeout: Seconds a temperature change may take.
        name: The device's name (``init_devices`` sets it from the variable).
    """

    temperature: A[SignalR[float], PvSuffix("TEMP_RBV"), Format.HINTED_SIGNAL]
    setpoint: A[SignalRW[float], PvSuffix("TEMP_SP"), Format.CONFIG_SIGNAL]
    stir_rpm: A[SignalRW[float], PvSuffix("STIR_RBV", "STIR_SP"), Format.UNCACHED_SIGNAL]

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
            device=self.name,
            endpoint=f"PV prefix {self.prefix}",
        )

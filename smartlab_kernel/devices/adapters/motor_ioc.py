"""A caproto motor record that moves the way a real one does, for ophyd and ophyd-async clients.

caproto's own example motor (``caproto.ioc_examples.fake_motor_record``)
completes a write to ``.VAL`` at once and leaves the dial limits at 0, so
ophyd-async's :class:`ophyd_async.epics.motor.Motor`, which waits for the
IOC to complete the write (put-completion) and checks ``DLLM``/``DHLM``,
would see every move finish before it started. This record, like the EPICS
motor record, completes the ``.VAL`` write when the move ends, at ``VELO``
EGU/s; ``DMOV`` is 0 while it moves; ``STOP`` = 1 ends the move where it is
(and the write completes there). Its user and dial limits are the same
(offset 0, positive direction) and are the control limits of ``.VAL``, and
``EGU`` is set on ``.VAL``, ``.RBV`` and the record.

Unlike a real record, a target outside ``LLM``/``HLM`` is refused
(``ECA_PUTFAIL``, with the limits in the message) instead of setting ``LVIO``
and completing without moving, so a client that did not check the limits
fails at once rather than waiting for a move that never starts.
"""

from __future__ import annotations

import asyncio
from typing import Any

from caproto.server import PVGroup, pvproperty

#: Updates of ``.RBV`` per second while moving.
TICK_RATE_HZ = 20.0


class MotorRecordIOC(PVGroup):
    """One motor record, named by the group's prefix (``"LAB:M1"`` serves ``LAB:M1.VAL``, ...).

    Args:
        velocity: ``VELO``, EGU/s (``VMAX`` is twice it).
        precision: ``PREC``.
        user_limits: ``(LLM, HLM)``, also the dial limits.
        units: ``EGU``.
        resolution: ``MRES`` and ``RDBD``, EGU.
        **kwargs: Passed to :class:`caproto.server.PVGroup` (``prefix``, ...).
    """

    motor = pvproperty(value=0.0, name="", record="motor", precision=3)

    def __init__(
        self,
        *,
        velocity: float = 10.0,
        precision: int = 3,
        user_limits: tuple[float, float] = (0.0, 50.0),
        units: str = "mm",
        resolution: float = 1e-3,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.velocity = float(velocity)
        self.precision = int(precision)
        self.user_limits = (float(user_limits[0]), float(user_limits[1]))
        self.units = units
        self.resolution = float(resolution)
        #: Moves started so far; a move started later takes over from one under way.
        self.moves = 0

    @motor.startup  # type: ignore[no-redef]
    async def motor(self, instance: Any, async_lib: Any) -> None:
        """Give the record its units, speed, resolution and limits."""
        fields = instance.field_inst
        low, high = self.user_limits
        # a motor record reports its soft limits as the control limits of .VAL
        await instance.write_metadata(
            units=self.units, precision=self.precision, lower_ctrl_limit=low, upper_ctrl_limit=high
        )
        await fields.engineering_units.write(self.units)
        await fields.user_readback_value.write_metadata(units=self.units, precision=self.precision)
        await fields.dial_readback_value.write_metadata(units=self.units)
        await fields.display_precision.write(self.precision)
        await fields.velocity.write(self.velocity)
        await fields.max_velocity.write(2 * self.velocity)
        await fields.seconds_to_velocity.write(0.1)
        await fields.motor_step_size.write(self.resolution)
        await fields.encoder_step_size.write(self.resolution)
        await fields.retry_deadband.write(self.resolution)
        await fields.egu_s_per_revolution.write(1.0)
        await fields.user_low_limit.write(low)
        await fields.user_high_limit.write(high)
        await fields.dial_low_limit.write(low)
        await fields.dial_high_limit.write(high)
        await fields.done_moving_to_value.write(1)
        await fields.motor_is_moving.write(0)

    @motor.putter  # type: ignore[no-redef]
    async def motor(self, instance: Any, value: float) -> float:
        """Move to ``value`` at ``VELO``; the write completes when the move ends (or is stopped).

        A new target written during a move takes over from there, as in a motor
        record; the superseded write completes at once.

        Raises:
            ValueError: If ``value`` is outside ``LLM``/``HLM`` (the client gets ECA_PUTFAIL).
        """
        fields = instance.field_inst
        low, high = float(fields.user_low_limit.value), float(fields.user_high_limit.value)
        if high > low and not low <= value <= high:
            await fields.limit_violation.write(1)
            raise ValueError(
                f"{value:g} {self.units} is outside the soft limits [{low:g}, {high:g}] "
                f"{self.units} (LLM/HLM); the motor did not move"
            )
        await fields.limit_violation.write(0)
        self.moves += 1
        move = self.moves
        position = float(fields.user_readback_value.value)
        velocity = abs(float(fields.velocity.value)) or self.velocity
        await fields.stop.write(0)
        await fields.done_moving_to_value.write(0)
        await fields.motor_is_moving.write(1)
        try:
            while abs(value - position) > self.resolution / 2:
                if self.moves != move:
                    return position  # superseded: the newer write stores its target
                if fields.stop.value:
                    await fields.stop.write(0)
                    return position  # a stopped record's VAL is where it stopped
                step = velocity / TICK_RATE_HZ
                position = (
                    value
                    if abs(value - position) <= step
                    else position + step * (1.0 if value > position else -1.0)
                )
                await fields.user_readback_value.write(position)
                await fields.dial_readback_value.write(position)
                await fields.raw_readback_value.write(position / self.resolution)
                await asyncio.sleep(1.0 / TICK_RATE_HZ)
            await fields.user_readback_value.write(value)
            await fields.dial_readback_value.write(value)
            return value
        finally:
            if self.moves == move:
                await fields.motor_is_moving.write(0)
                await fields.done_moving_to_value.write(1)

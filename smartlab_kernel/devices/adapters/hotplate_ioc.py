"""A caproto IOC of another shape than the reactor: a hotplate in kelvin with a done PV.

It is the protocol peer the generic ``setpoint_readback`` EPICS kind is tested
against. The PVs, under a prefix such as ``"LAB:HP:"``:

=========== ===== ===========================================================
PV          Write What
=========== ===== ===========================================================
T:SP        yes   temperature setpoint, K, control limits [273.15, 573.15]
T:RBV       no    temperature readback, K (first-order dynamics)
T:DONE      no    1 when the readback is within 0.05 K of the setpoint, else 0
SAFE_MAX    yes   the plate clamps setpoints above this, K (like an ao record's DRVH)
INTERLOCK   yes   1 (lid open): every setpoint write is refused (ECA_PUTFAIL)
=========== ===== ===========================================================

Run it with ``python -m smartlab_kernel.devices.adapters.hotplate_ioc
--prefix LAB:HP: --interfaces 127.0.0.1``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

from caproto.server import PVGroup, pvproperty, run, template_arg_parser

DEFAULT_PREFIX = "LAB:HP:"
UPDATE_PERIOD_S = 0.05
#: Time constant of the plate, simulated s.
TAU_S = 30.0


class HotplateIOC(PVGroup):
    """PVs of a hotplate whose temperature (in K) relaxes to its setpoint.

    Args:
        ambient_k: Starting temperature (and setpoint), K.
        time_scale: Simulated seconds per real second.
        **kwargs: Passed to :class:`caproto.server.PVGroup` (``prefix``, ...).
    """

    setpoint = pvproperty(
        name="T:SP",
        value=293.15,
        units="K",
        precision=2,
        lower_ctrl_limit=273.15,
        upper_ctrl_limit=573.15,
        doc="Temperature setpoint (K).",
    )
    readback = pvproperty(
        name="T:RBV", value=293.15, units="K", precision=2, read_only=True, doc="Temperature (K)."
    )
    done = pvproperty(name="T:DONE", value=1, read_only=True, doc="1 when at the setpoint.")
    safe_max = pvproperty(name="SAFE_MAX", value=573.15, units="K", doc="Setpoints clamp here.")
    interlock = pvproperty(name="INTERLOCK", value=0, doc="1: the lid is open, writes refused.")

    def __init__(self, *, ambient_k: float = 293.15, time_scale: float = 1.0, **kwargs: Any):
        super().__init__(**kwargs)
        self.time_scale = float(time_scale)
        self._t0 = self._now()
        self._temp0 = float(ambient_k)
        self._target = float(ambient_k)

    def _now(self) -> float:
        return time.monotonic() * self.time_scale

    def temperature_at(self, t: float) -> float:
        """Return the temperature (K) at simulated time ``t``."""
        return self._target + (self._temp0 - self._target) * math.exp(-(t - self._t0) / TAU_S)

    @setpoint.putter  # type: ignore[no-redef]
    async def setpoint(self, instance: Any, value: float) -> float:
        """Refuse writes while the interlock is set; clamp to ``SAFE_MAX``; restart the ramp."""
        if self.interlock.value:
            raise RuntimeError("interlock: the lid is open, setpoint writes are refused")
        value = min(float(value), float(self.safe_max.value))
        now = self._now()
        self._temp0 = self.temperature_at(now)
        self._t0 = now
        self._target = value
        return value

    @readback.scan(period=UPDATE_PERIOD_S)  # type: ignore[no-redef]
    async def readback(self, instance: Any, async_lib: Any) -> None:
        """Publish the temperature and whether it is at the setpoint."""
        temperature = self.temperature_at(self._now())
        await self.readback.write(temperature)
        at_setpoint = int(abs(temperature - self._target) <= 0.05)
        if self.done.value != at_setpoint:
            await self.done.write(at_setpoint)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the IOC until interrupted (command line: ``--prefix``, ``--time-scale``, ...)."""
    parser, split_args = template_arg_parser(
        desc="Simulated hotplate IOC in kelvin (smartlab_kernel).",
        default_prefix=DEFAULT_PREFIX,
        argv=list(argv) if argv is not None else None,
        supported_async_libs=["asyncio"],
    )
    parser.add_argument("--time-scale", type=float, default=1.0, help="simulated s per real s")
    args = parser.parse_args(argv)
    ioc_options, run_options = split_args(args)
    run(HotplateIOC(time_scale=args.time_scale, **ioc_options).pvdb, **run_options)


if __name__ == "__main__":  # pragma: no cover
    main()

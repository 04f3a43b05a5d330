"""A caproto IOC serving a simulated reactor's PVs over EPICS Channel Access.

It is the protocol peer the EPICS adapter is tested against, and a stand-in
for a real hotplate IOC in demos. The PVs, under a prefix such as
``"SIM:REACTOR:"``:

========== ===== ==================================================
PV         Write What
========== ===== ==================================================
TEMP_SP    yes   temperature setpoint, degC, limits [15, 150]
TEMP_RBV   no    temperature readback, degC (first-order dynamics)
STIR_SP    yes   stirring setpoint, rpm, limits [0, 1500]
STIR_RBV   no    stirring readback, rpm (follows the setpoint)
TAU        yes   time constant of the temperature, simulated s
========== ===== ==================================================

The temperature follows ``T(t) = T_sp + (T_0 - T_sp) * exp(-(t - t_0) / tau)``
with ``t`` in simulated seconds (``time_scale`` of them per real second).

Run it with ``python -m smartlab_kernel.devices.adapters.reactor_ioc
--prefix SIM:REACTOR: --interfaces 127.0.0.1``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

from caproto.server import PVGroup, pvproperty, run, template_arg_parser

DEFAULT_PREFIX = "SIM:REACTOR:"
UPDATE_PERIOD_S = 0.05


class ReactorIOC(PVGroup):
    """PVs of a stirred, heated reactor whose temperature relaxes to its setpoint.

    Args:
        ambient_c: Starting temperature (and initial setpoint) in degC.
        time_scale: Simulated seconds per real second.
        **kwargs: Passed to :class:`caproto.server.PVGroup` (``prefix``, ...).
    """

    temperature_setpoint = pvproperty(
        name="TEMP_SP",
        value=25.0,
        units="degC",
        lower_ctrl_limit=15.0,
        upper_ctrl_limit=150.0,
        doc="Temperature setpoint (degC).",
    )
    temperature = pvproperty(
        name="TEMP_RBV", value=25.0, units="degC", read_only=True, doc="Temperature (degC)."
    )
    stir_setpoint = pvproperty(
        name="STIR_SP",
        value=0.0,
        units="rpm",
        lower_ctrl_limit=0.0,
        upper_ctrl_limit=1500.0,
        doc="Stirring setpoint (rpm).",
    )
    stir_rpm = pvproperty(
        name="STIR_RBV", value=0.0, units="rpm", read_only=True, doc="Stirring (rpm)."
    )
    time_constant = pvproperty(
        name="TAU", value=60.0, units="s", lower_ctrl_limit=0.1, upper_ctrl_limit=3600.0
    )

    def __init__(self, *, ambient_c: float = 25.0, time_scale: float = 1.0, **kwargs: Any):
        super().__init__(**kwargs)
        self.time_scale = float(time_scale)
        self._t0 = self._now()
        self._temp0 = float(ambient_c)
        self._target = float(ambient_c)

    def _now(self) -> float:
        return time.monotonic() * self.time_scale

    def temperature_at(self, t: float) -> float:
        """Return the temperature at simulated time ``t``."""
        tau = float(self.time_constant.value)
        return self._target + (self._temp0 - self._target) * math.exp(-(t - self._t0) / tau)

    @temperature_setpoint.putter  # type: ignore[no-redef]
    async def temperature_setpoint(self, instance: Any, value: float) -> float:
        """Restart the relaxation from the present temperature towards ``value``."""
        now = self._now()
        self._temp0 = self.temperature_at(now)
        self._t0 = now
        self._target = float(value)
        return value

    @temperature.scan(period=UPDATE_PERIOD_S)  # type: ignore[no-redef]
    async def temperature(self, instance: Any, async_lib: Any) -> None:
        """Publish the temperature now."""
        await self.temperature.write(self.temperature_at(self._now()))

    @stir_setpoint.putter  # type: ignore[no-redef]
    async def stir_setpoint(self, instance: Any, value: float) -> float:
        """Stirring follows its setpoint at once."""
        await self.stir_rpm.write(value)
        return value


def main(argv: Sequence[str] | None = None) -> None:
    """Run the IOC until interrupted (command line: ``--prefix``, ``--time-scale``, ...)."""
    parser, split_args = template_arg_parser(
        desc="Simulated reactor IOC (smartlab_kernel).",
        default_prefix=DEFAULT_PREFIX,
        argv=list(argv) if argv is not None else None,
        supported_async_libs=["asyncio"],
    )
    parser.add_argument("--time-scale", type=float, default=1.0, help="simulated s per real s")
    parser.add_argument("--ambient", type=float, default=25.0, help="start temperature, degC")
    args = parser.parse_args(argv)
    ioc_options, run_options = split_args(args)
    ioc = ReactorIOC(ambient_c=args.ambient, time_scale=args.time_scale, **ioc_options)
    run(ioc.pvdb, **run_options)


if __name__ == "__main__":  # pragma: no cover
    main()

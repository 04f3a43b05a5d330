"""One caproto IOC serving a small bench of instruments of their own shapes.

The protocol peer of the generic EPICS kinds, and a stand-in for real
instruments in demos. Under a prefix such as ``"LAB:"`` it serves

* a hotplate in kelvin (``LAB:HP:T:SP``, ``T:RBV``, ``T:DONE``, ...; see
  :mod:`~smartlab_kernel.devices.adapters.hotplate_ioc`),
* a counting detector (``LAB:DET:ACQUIRE``, ``COUNTS``, ``INTENSITY``, ...; see
  :mod:`~smartlab_kernel.devices.adapters.detector_ioc`),
* a motor record ``LAB:M1`` (caproto's simulated motor record: ``.VAL``,
  ``.RBV``, ``.DMOV``, ...), in mm, soft limits [0, 50] mm, 10 mm/s.

Run it with ``python -m smartlab_kernel.devices.adapters.instruments_ioc
--prefix LAB: --interfaces 127.0.0.1`` (or run the file itself, which starts faster).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from caproto.ioc_examples.fake_motor_record import FakeMotor
from caproto.server import PVGroup, SubGroup, pvproperty, run, template_arg_parser

try:
    from .detector_ioc import DetectorIOC
    from .hotplate_ioc import HotplateIOC
except ImportError:  # run as a file: its folder is on sys.path
    from detector_ioc import DetectorIOC  # type: ignore[no-redef]
    from hotplate_ioc import HotplateIOC  # type: ignore[no-redef]

DEFAULT_PREFIX = "LAB:"
MOTOR_UNITS = "mm"


class MotorIOC(PVGroup):
    """A simulated motor record ``<prefix>M1`` in mm."""

    m1 = SubGroup(FakeMotor, velocity=10.0, precision=3, user_limits=(0.0, 50.0), prefix="M1")
    units_ready = pvproperty(name="M1:UNITS_SET", value=0, read_only=True)

    @units_ready.startup  # type: ignore[no-redef]
    async def units_ready(self, instance: Any, async_lib: Any) -> None:
        """Give the motor record its engineering units."""
        motor = self.m1.motor
        await motor.field_inst.engineering_units.write(MOTOR_UNITS)
        await motor.write_metadata(units=MOTOR_UNITS)  # EGU of .VAL, as a real record has
        await motor.field_inst.user_readback_value.write_metadata(units=MOTOR_UNITS)
        await instance.write(1)


def instruments_pvdb(prefix: str, time_scale: float = 1.0) -> dict[str, Any]:
    """The PVs of the hotplate, the detector and the motor under ``prefix``."""
    pvdb: dict[str, Any] = {}
    pvdb.update(HotplateIOC(prefix=f"{prefix}HP:", time_scale=time_scale).pvdb)
    pvdb.update(DetectorIOC(prefix=f"{prefix}DET:").pvdb)
    pvdb.update(MotorIOC(prefix=prefix).pvdb)
    return pvdb


def main(argv: Sequence[str] | None = None) -> None:
    """Run the IOC until interrupted (command line: ``--prefix``, ``--time-scale``, ...)."""
    parser, split_args = template_arg_parser(
        desc="Simulated hotplate (K), detector and motor record (smartlab_kernel).",
        default_prefix=DEFAULT_PREFIX,
        argv=list(argv) if argv is not None else None,
        supported_async_libs=["asyncio"],
    )
    parser.add_argument("--time-scale", type=float, default=1.0, help="simulated s per real s")
    args = parser.parse_args(argv)
    ioc_options, run_options = split_args(args)
    run(instruments_pvdb(ioc_options["prefix"], args.time_scale), **run_options)


if __name__ == "__main__":  # pragma: no cover
    main()

"""One caproto IOC serving a small bench of instruments of their own shapes.

The protocol peer of the generic EPICS kinds, and a stand-in for real
instruments in demos. Under a prefix such as ``"LAB:"`` it serves

* a hotplate in kelvin (``LAB:HP:T:SP``, ``T:RBV``, ``T:DONE``, ...; see
  :mod:`~smartlab_kernel.devices.adapters.hotplate_ioc`),
* a counting detector (``LAB:DET:ACQUIRE``, ``COUNTS``, ``INTENSITY``, ...; see
  :mod:`~smartlab_kernel.devices.adapters.detector_ioc`),
* an areaDetector-style camera (``LAB:AD:cam1:Acquire``, ``image1:ArrayData``, ...;
  see :mod:`~smartlab_kernel.devices.adapters.area_detector_ioc`),
* a motor record ``LAB:M1`` (``.VAL``, ``.RBV``, ``.DMOV``, ``.EGU``, ...; see
  :mod:`~smartlab_kernel.devices.adapters.motor_ioc`), in mm, soft limits
  [0, 50] mm, 10 mm/s; a write to ``.VAL`` completes when the move ends.

Run it with ``python -m smartlab_kernel.devices.adapters.instruments_ioc
--prefix LAB: --interfaces 127.0.0.1`` (or run the file itself, which starts faster).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from caproto.server import run, template_arg_parser

try:
    from .area_detector_ioc import AreaDetectorIOC
    from .detector_ioc import DetectorIOC
    from .hotplate_ioc import HotplateIOC
    from .motor_ioc import MotorRecordIOC
except ImportError:  # run as a file: its folder is on sys.path
    from area_detector_ioc import AreaDetectorIOC  # type: ignore[no-redef]
    from detector_ioc import DetectorIOC  # type: ignore[no-redef]
    from hotplate_ioc import HotplateIOC  # type: ignore[no-redef]
    from motor_ioc import MotorRecordIOC  # type: ignore[no-redef]

DEFAULT_PREFIX = "LAB:"
MOTOR_UNITS = "mm"


def instruments_pvdb(prefix: str, time_scale: float = 1.0) -> dict[str, Any]:
    """The PVs of the hotplate, the detectors and the motor under ``prefix``."""
    pvdb: dict[str, Any] = {}
    pvdb.update(HotplateIOC(prefix=f"{prefix}HP:", time_scale=time_scale).pvdb)
    pvdb.update(DetectorIOC(prefix=f"{prefix}DET:").pvdb)
    pvdb.update(AreaDetectorIOC(prefix=f"{prefix}AD:").pvdb)
    motor = MotorRecordIOC(
        prefix=f"{prefix}M1", velocity=10.0, user_limits=(0.0, 50.0), units=MOTOR_UNITS
    )
    pvdb.update(motor.pvdb)
    return pvdb


def main(argv: Sequence[str] | None = None) -> None:
    """Run the IOC until interrupted (command line: ``--prefix``, ``--time-scale``, ...)."""
    parser, split_args = template_arg_parser(
        desc="Simulated hotplate (K), detectors and motor record (smartlab_kernel).",
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

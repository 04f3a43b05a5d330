"""A caproto IOC of a plain detector: an acquire PV and the PVs it updates.

It is the protocol peer the ``detector`` EPICS kind is tested against. The
PVs, under a prefix such as ``"LAB:DET:"``:

============ ===== =========================================================
PV           Write What
============ ===== =========================================================
ACQUIRE      yes   enum Done/Acquire: write 1 (Acquire) to acquire; the write
                   completes when the acquisition has (put-completion), and
                   the PV reads Done again
ACQ_TIME     yes   acquisition time, s
COUNTS       no    counts of the last acquisition
INTENSITY    no    counts per second of the last acquisition, counts/s
SHUTTER      yes   0 (closed): acquisitions are refused (ECA_PUTFAIL)
============ ===== =========================================================
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from caproto import ChannelType
from caproto.server import PVGroup, pvproperty, run, template_arg_parser

DEFAULT_PREFIX = "LAB:DET:"


class DetectorIOC(PVGroup):
    """PVs of a counting detector: each acquisition counts 1000 counts per second, plus one.

    Args:
        **kwargs: Passed to :class:`caproto.server.PVGroup` (``prefix``, ...).
    """

    acquire = pvproperty(
        name="ACQUIRE",
        value="Done",
        enum_strings=["Done", "Acquire"],
        dtype=ChannelType.ENUM,
        doc="Write 1 (Acquire) to acquire, as an area detector's Acquire PV.",
    )
    acquire_time = pvproperty(
        name="ACQ_TIME",
        value=0.2,
        units="s",
        lower_ctrl_limit=0.0,
        upper_ctrl_limit=60.0,
        doc="Acquisition time (s).",
    )
    counts = pvproperty(name="COUNTS", value=0.0, units="counts", read_only=True)
    intensity = pvproperty(name="INTENSITY", value=0.0, units="counts/s", read_only=True)
    shutter = pvproperty(name="SHUTTER", value=1, doc="0: closed, acquisitions refused.")

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.acquisitions = 0

    @acquire.putter  # type: ignore[no-redef]
    async def acquire(self, instance: Any, value: str) -> str:
        """Count for ``ACQ_TIME`` seconds, then publish; the write completes then."""
        if value != "Acquire":
            return "Done"
        if not self.shutter.value:
            raise RuntimeError("the shutter is closed: acquisition refused")
        seconds = float(self.acquire_time.value)
        await asyncio.sleep(seconds)
        self.acquisitions += 1
        counts = 1000.0 * seconds + self.acquisitions
        await self.counts.write(counts)
        await self.intensity.write(counts / seconds if seconds > 0 else 0.0)
        return "Done"


def main(argv: Sequence[str] | None = None) -> None:
    """Run the IOC until interrupted (command line: ``--prefix``, ``--interfaces``, ...)."""
    parser, split_args = template_arg_parser(
        desc="Simulated counting detector IOC (smartlab_kernel).",
        default_prefix=DEFAULT_PREFIX,
        argv=list(argv) if argv is not None else None,
        supported_async_libs=["asyncio"],
    )
    args = parser.parse_args(argv)
    ioc_options, run_options = split_args(args)
    run(DetectorIOC(**ioc_options).pvdb, **run_options)


if __name__ == "__main__":  # pragma: no cover
    main()

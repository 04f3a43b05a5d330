"""``smartlab devices check <file>``: contact every device of a lab configuration file."""

from __future__ import annotations

import argparse
import contextlib
import sys
from typing import Any

from .argtypes import positive_float


def register(subparsers: Any) -> None:
    """Add the ``devices`` subcommand."""
    parser = subparsers.add_parser(
        "devices",
        help="check the devices of a lab configuration file",
        description="Work with the devices a lab configuration file (YAML or TOML) describes.",
    )
    sub = parser.add_subparsers(dest="devices_command", metavar="ACTION", required=True)
    check = sub.add_parser(
        "check",
        help="connect to each device and report what answers",
        description=(
            "Validate the file, then build and contact each device (EPICS PVs, SiLA 2 "
            "servers, PyLabRobot backends, simulated instruments) and print a table. "
            "EPICS devices show their readback with the units (EGU) and the setpoint's "
            "limits as the IOC reports them. "
            "Exit code 0 if every device answered, 1 if any failed, 2 if the file is invalid."
        ),
    )
    check.add_argument("file", help="lab configuration file (.yaml, .yml or .toml)")
    check.add_argument(
        "--timeout",
        type=positive_float,
        default=5.0,
        help="seconds each device may take (default 5)",
    )
    check.set_defaults(func=run_check)


def run_check(args: argparse.Namespace) -> int:
    """Check every device of ``args.file``; return the exit code."""
    from ..devices.labconfig import (
        LabConfigError,
        check_devices,
        format_results,
        load_lab_config,
    )

    try:
        config = load_lab_config(args.file)
    except (LabConfigError, FileNotFoundError) as exc:
        print(exc, file=sys.stderr)
        return 2
    # Drivers that print while connecting (PyLabRobot's chatterbox) go to stderr,
    # so stdout holds only the table.
    with contextlib.redirect_stdout(sys.stderr):
        results = check_devices(config, timeout=args.timeout)
    print(format_results(results))
    failed = [r.name for r in results if not r.ok]
    if failed:
        print(
            f"\n{len(failed)} of {len(results)} device(s) did not answer: {failed}", file=sys.stderr
        )
        return 1
    print(f"\nall {len(results)} device(s) answered")
    return 0

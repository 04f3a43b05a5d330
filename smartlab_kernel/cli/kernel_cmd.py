"""``smartlab kernel install``: install the Smart Lab Jupyter kernel."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(subparsers: Any) -> None:
    """Add the ``kernel`` subcommand."""
    parser = subparsers.add_parser(
        "kernel",
        help="manage the 'Smart Lab (Python 3)' Jupyter kernel",
        description="Manage the 'Smart Lab (Python 3)' Jupyter kernel.",
    )
    sub = parser.add_subparsers(dest="kernel_command", metavar="ACTION", required=True)
    install = sub.add_parser(
        "install",
        help="install the kernelspec",
        description=(
            "Install the kernelspec. The kernel runs this Python with the smartlab "
            "IPython extension, which connects the lab (simulated by default; "
            "SMARTLAB_CONFIG names a TOML file with a [lab] table to choose another) "
            "and puts `lab`, its devices and the plans in the namespace. It also "
            "builds BoTorch's compiled multi-objective kernel (once per environment), "
            "so the first multi-objective suggestion does not wait ~25 s for a compiler."
        ),
    )
    where = install.add_mutually_exclusive_group()
    where.add_argument("--user", action="store_true", help="install for the current user")
    where.add_argument(
        "--sys-prefix", action="store_true", help="install into this environment (default)"
    )
    where.add_argument("--prefix", help="install under this prefix")
    install.add_argument(
        "--no-compile",
        action="store_true",
        help="do not build BoTorch's compiled multi-objective kernel now",
    )
    install.set_defaults(func=run_install)


def run_install(args: argparse.Namespace) -> int:
    """Install the kernelspec; return the exit code."""
    from ..kernel import DISPLAY_NAME, install_kernelspec

    prefix = args.prefix or (None if args.user else sys.prefix)
    path = install_kernelspec(user=args.user, prefix=prefix)
    print(f"installed kernel '{DISPLAY_NAME}' in {path}")
    if not args.no_compile:
        from ..planner.compiled import build_multiobjective_kernel

        build = build_multiobjective_kernel()
        if build.compiled:
            print(f"BoTorch's compiled multi-objective kernel is ready: {build.detail}")
        else:
            print(
                "BoTorch's multi-objective kernel was not compiled; multi-objective "
                f"suggestions use its pure-Python path (same values, slower): {build.detail}"
            )
    return 0

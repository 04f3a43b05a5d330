"""``smartlab lab``: start JupyterLab with the Smart Lab kernel and the notebooks."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    """Add the ``lab`` subcommand."""
    parser = subparsers.add_parser(
        "lab",
        help="start JupyterLab with the Smart Lab kernel",
        description=(
            "Start JupyterLab with the 'Smart Lab (Python 3)' kernel installed into this "
            "environment and the notebooks folder open. By default it listens on "
            "127.0.0.1 only and requires a random token (printed in the URL). To let "
            "others in, bind with --ip 0.0.0.0 AND protect it with --password or a "
            "long --token."
        ),
    )
    parser.add_argument("--port", type=int, default=8888, help="port (default: %(default)s)")
    parser.add_argument("--ip", default="127.0.0.1", help="address to bind (default: %(default)s)")
    parser.add_argument("--token", default=None, help="require this token (default: a random one)")
    parser.add_argument(
        "--password",
        action="store_true",
        help="ask for a password now and require it to log in (instead of a token)",
    )
    parser.add_argument(
        "--notebook-dir", default="notebooks", help="folder to open (default: %(default)s)"
    )
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser")
    parser.set_defaults(func=run_lab)


def jupyter_arguments(args: argparse.Namespace, password_hash: str | None = None) -> list[str]:
    """The ``jupyter lab`` command line for these options."""
    argv = [
        sys.executable,
        "-m",
        "jupyterlab",
        f"--ServerApp.ip={args.ip}",
        f"--ServerApp.port={args.port}",
        f"--ServerApp.root_dir={Path(args.notebook_dir).resolve()}",
        "--MappingKernelManager.default_kernel_name=smartlab",
    ]
    if password_hash:
        argv += [f"--PasswordIdentityProvider.hashed_password={password_hash}"]
        argv += ["--IdentityProvider.token="]
    elif args.token:
        argv += [f"--IdentityProvider.token={args.token}"]
    if args.no_browser:
        argv.append("--no-browser")
    return argv


def run_lab(args: argparse.Namespace) -> int:
    """Install the kernel into this environment and exec JupyterLab."""
    from ..kernel import install_kernelspec

    if not Path(args.notebook_dir).is_dir():
        print(f"notebook folder {args.notebook_dir!r} does not exist", file=sys.stderr)
        return 2
    install_kernelspec(prefix=sys.prefix)
    password_hash = None
    if args.password:
        from jupyter_server.auth import passwd

        password_hash = passwd()
    argv = jupyter_arguments(args, password_hash)
    os.execv(argv[0], argv)
    return 0  # pragma: no cover

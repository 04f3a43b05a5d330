"""``smartlab serve``: run a lab server for a class or a shared instrument.

``smartlab serve CONFIG`` starts tiled (catalog in PostgreSQL), the
bluesky-queueserver RE Manager (queue in Redis) and its HTTP server, with
every user's key, restarts any of them that dies, and runs until SIGTERM or
SIGINT (Ctrl-C), which stop every one of them (a second signal at once).
``smartlab serve keys`` makes keys, ``smartlab serve status CONFIG`` shows a
running lab's state, ``smartlab serve unit CONFIG`` writes a systemd unit.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import gc
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from .argtypes import positive_float

if TYPE_CHECKING:
    from ..serve.server import LabServer

_DESCRIPTION = """\
Start a lab server for many users: tiled (catalog in PostgreSQL, data files on
disk), the bluesky-queueserver RE Manager (queue in Redis; the simulated bench
and the queue's plans in its profile; every document journaled, then shipped to
tiled) and the queueserver HTTP server. Every request needs a user's API key.
Everything binds to 127.0.0.1 unless the configuration sets host and
allow_remote = true.

CONFIG is one TOML file:

  state_dir = "./lab-server"    logs, journals, key databases, data files
  host = "127.0.0.1"            address the servers bind to
  allow_remote = false          must be true for a non-loopback host
  [redis]   address = "127.0.0.1:6379", prefix = "smartlab",
            admin_user = "default", admin_password_file = ""  (who makes the lab's account)
  [queue]   http_port = 60610, zmq_control_port = 60615, zmq_info_port = 60625,
            publish_console = false  (the unencrypted info socket stays off)
  [catalog] port = 8000, postgres_uri = "postgresql://postgres@127.0.0.1:5432/smartlab",
            create_database = true, data_dir = "" (default <state_dir>/data)
  [bench]   seed = 0, time_scale = 100.0, stock_ml = 10000.0
  [[users]] name = "ta", role = "instructor" | "student", key_hash = "..."

Make keys and the [[users]] entries with:

  smartlab serve keys --students 30 --instructor ta --out class

which writes class.keys.csv (hand each key to its owner) and class.users.toml
(paste into CONFIG; it holds only hashes of the keys).

A service that dies is restarted on its own (1 s, 2 s, 4 s ... 30 s apart)
while the others keep serving. SIGTERM or SIGINT stops every service; a
second one kills them at once.

  smartlab serve status CONFIG [--json]   state of each service; exit 0 ok,
                                          1 degraded, 3 stopped
  smartlab serve unit CONFIG [--user U]   print a systemd unit for this lab
"""


def register(subparsers: Any) -> None:
    """Add the ``serve`` subcommand."""
    parser = subparsers.add_parser(
        "serve",
        help="run a lab server for many users (queue + catalog + keys)",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "config",
        nargs="?",
        help="the TOML configuration file (see above), or 'keys', 'status', 'unit'",
    )
    parser.add_argument(
        "target", nargs="?", help="with 'status' or 'unit': the TOML configuration file"
    )
    parser.add_argument(
        "--timeout",
        type=positive_float,
        default=180.0,
        help="seconds to wait for every service to be ready (default: %(default)s)",
    )
    parser.add_argument(
        "--check", action="store_true", help="validate CONFIG, print a summary and exit"
    )
    status = parser.add_argument_group("with 'smartlab serve status' or 'unit'")
    status.add_argument("--json", action="store_true", help="status: print JSON")
    status.add_argument(
        "--user", default="", help="unit: the account to run as (default: the current one)"
    )
    keys = parser.add_argument_group("with 'smartlab serve keys'")
    keys.add_argument(
        "--students", type=int, default=0, help="number of student keys (student01, ...)"
    )
    keys.add_argument(
        "--names", default="", help="file with one student name per line (instead of --students)"
    )
    keys.add_argument(
        "--instructor",
        action="append",
        default=[],
        help="an instructor's name (repeatable; default: ta)",
    )
    keys.add_argument(
        "--out", default="lab", help="prefix of the files written (default: %(default)s)"
    )
    parser.set_defaults(func=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    """Run ``smartlab serve``; return the exit code."""
    from ..serve import ConfigError, ServeError

    if args.config is None:
        print("smartlab serve: give a CONFIG file (or 'keys'); see --help", file=sys.stderr)
        return 2
    try:
        if args.config == "keys":
            return _write_keys(args)
        if args.config in ("status", "unit"):
            if args.target is None:
                print(f"smartlab serve {args.config}: give the CONFIG file", file=sys.stderr)
                return 2
            return _status(args) if args.config == "status" else _unit(args)
        if args.target is not None:
            print(f"smartlab serve: unexpected argument {args.target!r}", file=sys.stderr)
            return 2
        return _serve(args)
    except (ConfigError, ServeError) as exc:
        print(f"smartlab serve: {exc}", file=sys.stderr)
        return 1


def _write_keys(args: argparse.Namespace) -> int:
    from ..serve.keys import hash_key, new_key

    if args.names:
        students = [n.strip() for n in Path(args.names).read_text().splitlines() if n.strip()]
    else:
        students = [f"student{i:02d}" for i in range(1, args.students + 1)]
    people = [(n, "instructor") for n in (args.instructor or ["ta"])]
    people += [(n, "student") for n in students]
    keys = {name: new_key() for name, _ in people}
    csv_path, toml_path = Path(f"{args.out}.keys.csv"), Path(f"{args.out}.users.toml")
    with open(csv_path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["name", "role", "api_key"])
        writer.writerows([name, role, keys[name]] for name, role in people)
    csv_path.chmod(0o600)
    toml_path.write_text(
        "".join(
            f'[[users]]\nname = "{name}"\nrole = "{role}"\nkey_hash = "{hash_key(keys[name])}"\n\n'
            for name, role in people
        )
    )
    print(f"{len(people)} keys: {csv_path} (secret: hand out), {toml_path} (paste into CONFIG)")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from ..serve import LabServer, load_config

    config = load_config(args.config)
    roles = [u.role for u in config.users]
    summary = (
        f"users: {roles.count('instructor')} instructors, {roles.count('student')} students\n"
        f"queue:   {config.queue_url}   (students: Lab.connect(this, api_key=...))\n"
        f"catalog: {config.catalog_url}/api/v1   (PostgreSQL {config.catalog.postgres_uri})\n"
        f"redis:   {config.redis.address} prefix {config.redis.prefix!r}\n"
        f"state:   {config.state_path}   logs in logs/"
    )
    if args.check:
        print(f"configuration OK\n{summary}")
        return 0
    from ..serve.services import StopRequested

    _log_to_stdout()
    server = LabServer(config)
    signals = _StopSignals(server)
    signals.install()
    try:
        print("starting (tiled, RE Manager, HTTP server)...", flush=True)
        try:
            server.start(args.timeout)
        except StopRequested:
            print("stop requested before the lab server was ready; stopped", flush=True)
            return 0
        print(
            f"lab server ready\n{summary}\n"
            f"`smartlab serve status {args.config}` shows its state; Ctrl-C or SIGTERM stops it",
            flush=True,
        )
        while not server.stop_requested:
            time.sleep(0.5)
        print("stopping every service (a second signal kills them at once)...", flush=True)
    finally:
        server.stop()
        signals.restore()
        # Nothing left to free: skip collecting the large heap at exit (seconds on a busy host).
        gc.freeze()
    print("stopped", flush=True)
    return 0


class _StopSignals:
    """SIGTERM, SIGINT and SIGHUP ask ``server`` to stop; a second one kills its services.

    The handlers run in the main thread between two bytecodes, wherever it
    is (starting, waiting, stopping): the first only sets a flag that those
    loops watch, the second calls :meth:`LabServer.kill`, which takes no lock.
    """

    SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)

    def __init__(self, server: LabServer) -> None:
        self.server = server
        self.received: list[int] = []
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        """Install the handlers (remembering the ones they replace).

        A signal ignored when ``smartlab serve`` started stays ignored (SIGHUP
        under ``nohup``, SIGINT of a job started with ``&`` by a script).
        """
        for signum in self.SIGNALS:
            if signal.getsignal(signum) is not signal.SIG_IGN:
                self._previous[signum] = signal.signal(signum, self._handle)

    def restore(self) -> None:
        """Put the previous handlers back."""
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.received.append(signum)
        name = signal.Signals(signum).name
        if len(self.received) == 1:
            _say(f"{name}: stopping the lab server\n")
            self.server.request_stop()
        else:
            _say(f"{name} again: killing every service now\n")
            self.server.kill()


def _say(text: str) -> None:
    """Write to stdout from a signal handler (``print`` there may re-enter a write)."""
    with contextlib.suppress(OSError, ValueError):
        os.write(sys.stdout.fileno(), text.encode())


def _log_to_stdout() -> None:
    """Show the lab server's own log lines (restarts, recoveries) on stdout."""
    logger = logging.getLogger("smartlab_kernel.serve")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def _status(args: argparse.Namespace) -> int:
    from ..serve.config import load_config
    from ..serve.services import format_status, read_status, status_exit_code

    config = load_config(args.target)
    status = read_status(config.state_path)
    if args.json:
        print(json.dumps(status, indent=1))
    else:
        print(format_status(status))
    return status_exit_code(status)


def _unit(args: argparse.Namespace) -> int:
    from ..serve.config import load_config
    from ..serve.service_files import systemd_unit

    config_path = Path(args.target).resolve()
    load_config(config_path)  # refuse to write a unit for a configuration that fails
    print(systemd_unit(config_path, user=args.user or None), end="")
    return 0

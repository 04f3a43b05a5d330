"""``smartlab serve``: run a lab server for a class or a shared instrument.

``smartlab serve CONFIG`` starts tiled (catalog in PostgreSQL), the
bluesky-queueserver RE Manager (queue in Redis) and its HTTP server, with
every user's key, and runs until Ctrl-C. ``smartlab serve keys`` makes keys.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path
from typing import Any

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
  [redis]   address = "127.0.0.1:6379", prefix = "smartlab"
  [queue]   http_port = 60610, zmq_control_port = 60615, zmq_info_port = 60625
  [catalog] port = 8000, postgres_uri = "postgresql://postgres@127.0.0.1:5432/smartlab",
            create_database = true, data_dir = "" (default <state_dir>/data)
  [bench]   seed = 0, time_scale = 100.0, stock_ml = 10000.0
  [[users]] name = "ta", role = "instructor" | "student", key_hash = "..."

Make keys and the [[users]] entries with:

  smartlab serve keys --students 30 --instructor ta --out class

which writes class.keys.csv (hand each key to its owner) and class.users.toml
(paste into CONFIG; it holds only hashes of the keys).
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
        "config", nargs="?", help="the TOML configuration file (see above), or 'keys'"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=180.0,
        help="seconds to wait for every service to be ready (default: %(default)s)",
    )
    parser.add_argument(
        "--check", action="store_true", help="validate CONFIG, print a summary and exit"
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
    server = LabServer(config)
    print("starting (tiled, RE Manager, HTTP server)...", flush=True)
    server.start(args.timeout)
    print(f"lab server ready\n{summary}\nCtrl-C to stop", flush=True)
    try:
        while True:
            time.sleep(1.0)
            server.check_alive()
    except KeyboardInterrupt:
        print("stopping...", flush=True)
    finally:
        server.stop()
    return 0

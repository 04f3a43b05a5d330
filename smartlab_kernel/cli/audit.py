"""``smartlab audit``: check the LIMS audit trail.

``smartlab audit verify [--db PATH_OR_URL] [--schema NAME] [--head FILE]...
[--anchor SEQ:HASH]...`` walks the hash chain, checks it against the heads
recorded outside the table (the head file beside a SQLite database, head
files and anchors given), replays inventory, usage, samples and runs from
the log, and exits 0 when all is intact, 1 (printing every problem: the
first bad entry, the seqs missing at the end, each row that disagrees with
the log) when it was tampered with, and 2 when the database cannot be opened.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from smartlab_kernel.lims import DEFAULT_DB_PATH, AuditHead, LimsError, LimsStore, database_url

EXIT_INTACT = 0
EXIT_TAMPERED = 1
EXIT_UNUSABLE = 2


def register(subparsers: Any) -> None:
    """Add the ``audit`` command and its ``verify`` subcommand.

    Args:
        subparsers: The object returned by ``ArgumentParser.add_subparsers``.
    """
    audit = subparsers.add_parser(
        "audit",
        help="check the LIMS audit trail",
        description="Commands on the LIMS audit trail (append-only, hash-chained).",
    )
    audit.set_defaults(func=lambda _args: _print_help(audit))
    commands = audit.add_subparsers(dest="audit_command", metavar="SUBCOMMAND")
    verify = commands.add_parser(
        "verify",
        help="verify the audit hash chain",
        description="Recompute the audit trail's hash chain, check it against the heads "
        "recorded outside the database, and replay inventory, usage, samples and runs from "
        "it. Exit 0 when intact, 1 naming every problem when it was tampered with, 2 when "
        "the database cannot be read.",
    )
    verify.add_argument(
        "--db",
        default=str(DEFAULT_DB_PATH),
        metavar="PATH_OR_URL",
        help=f"SQLite file or database URL (default: ./{DEFAULT_DB_PATH})",
    )
    verify.add_argument("--schema", default=None, help="PostgreSQL schema holding the LIMS tables")
    verify.add_argument(
        "--head",
        action="append",
        default=[],
        metavar="FILE",
        help="an audit head file to check against (repeatable; a SQLite database's own "
        "<file>.audit-head is always checked; for PostgreSQL pass the lab's, e.g. "
        "lab-data/lims.audit-head)",
    )
    verify.add_argument(
        "--anchor",
        action="append",
        default=[],
        metavar="SEQ:HASH",
        help="a head recorded elsewhere, e.g. a run start document's lims_audit_head (repeatable)",
    )
    verify.set_defaults(func=run_verify)


def _print_help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return EXIT_UNUSABLE


def run_verify(args: argparse.Namespace) -> int:
    """Verify the audit chain of ``args.db``; return the exit code.

    Args:
        args: Parsed arguments with ``db``, ``schema``, ``head`` and ``anchor``.

    Returns:
        0 intact, 1 tampered, 2 database missing or unreadable.
    """
    target: str = args.db
    try:
        anchors = [AuditHead.parse(text) for text in args.anchor]
    except ValueError as exc:
        print(f"error: --anchor: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    url = database_url(target)
    sqlite_file = url.database if url.get_backend_name() == "sqlite" else None
    if sqlite_file is not None and not Path(sqlite_file).expanduser().is_file():
        print(f"error: no LIMS database at {target!r}; pass --db PATH_OR_URL", file=sys.stderr)
        return EXIT_UNUSABLE
    try:
        store = LimsStore.open(target, schema=args.schema, upgrade=False)
    except (LimsError, SQLAlchemyError) as exc:
        print(f"error: cannot open LIMS database {target!r}: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    try:
        result = store.verify_audit(anchors, head_files=args.head)
    except SQLAlchemyError as exc:
        print(f"error: cannot read the audit trail of {target!r}: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    finally:
        store.close()
    if result.ok:
        print(result)
        return EXIT_INTACT
    print(result, file=sys.stderr)
    return EXIT_TAMPERED

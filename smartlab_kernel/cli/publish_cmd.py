"""``smartlab publish``: write a bundle of a notebook and the runs it used."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .argtypes import positive_float


def register(subparsers: Any) -> None:
    """Add the ``publish`` subcommand."""
    parser = subparsers.add_parser(
        "publish",
        help="write a bundle of a notebook and its runs that a reader can replay",
        description=(
            "Write one bundle: the executed notebook, every run it used (JSON documents, "
            "Parquet/CSV tables), the planners' histories, the lab configuration, the "
            "package versions, and a manifest with the sha256 of every file. A reader "
            "replays it with `smartlab replay BUNDLE` without the lab."
        ),
    )
    parser.add_argument("notebook", help="the notebook (.ipynb), as executed unless --execute")
    parser.add_argument("--output", "-o", required=True, help="the bundle folder to write (new)")
    parser.add_argument(
        "--directory",
        default=None,
        help="the lab directory (default: the one the notebook's `%%lab open` names)",
    )
    parser.add_argument("--campaign", default=None, help="bundle only this campaign's runs")
    parser.add_argument(
        "--query",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="bundle only runs whose start document has this value, e.g. plan_name=measure_recipe "
        "(repeatable; numbers are read as numbers)",
    )
    parser.add_argument(
        "--execute",
        action="store_true",
        help="run every cell first (in the notebook's folder) and keep its figures' data",
    )
    parser.add_argument("--title", default=None, help="the bundle's title (default: first heading)")
    parser.add_argument(
        "--startup-timeout",
        type=positive_float,
        default=300.0,
        help="seconds the kernel may take to start (--execute)",
    )
    parser.set_defaults(func=run_publish)


def parse_query(pairs: list[str]) -> dict[str, Any]:
    """``["plan_name=measure_recipe", "seed=2"]`` -> ``{"plan_name": "measure_recipe", "seed": 2}``.

    Raises:
        ValueError: If a pair has no ``=`` or an empty key.
    """
    query: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--query {pair!r}: use KEY=VALUE, e.g. plan_name=measure_recipe")
        query[key] = _value(value)
    return query


def _value(text: str) -> Any:
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            continue
    return text


def run_publish(args: argparse.Namespace) -> int:
    """Write the bundle; print where and what; 0 on success, 2 on an error."""
    from ..publish import BundleError, KernelStartError
    from ..publish.writer import publish

    try:
        bundle = publish(
            args.notebook,
            args.output,
            directory=args.directory,
            campaign=args.campaign,
            query=parse_query(args.query),
            execute=args.execute,
            title=args.title,
            startup_timeout=args.startup_timeout,
        )
    except (BundleError, KernelStartError, ValueError, FileNotFoundError) as exc:
        print(f"smartlab publish: {exc}", file=sys.stderr)
        return 2
    from ..publish.bundle import Bundle

    opened = Bundle(bundle)
    print(
        f"bundle {bundle}: {len(opened.runs)} runs, campaigns {opened.campaigns}; "
        f"cite it by the sha256 of its manifest.json ({_digest(bundle)})"
    )
    return 0


def _digest(bundle: Any) -> str:
    from ..publish.manifest import MANIFEST_NAME, sha256_of

    return sha256_of(bundle / MANIFEST_NAME)

"""``smartlab reproduce``: re-run a stored campaign on the simulator and compare."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .argtypes import non_negative_float


def register(subparsers: Any) -> None:
    """Add the ``reproduce`` subcommand."""
    parser = subparsers.add_parser(
        "reproduce",
        help="re-run a stored campaign or run on the simulator and check the results match",
        description=(
            "Re-run the recipes of a stored campaign (or of one run) on a fresh simulated "
            "lab built from the recorded seed and bench settings, and compare each readout "
            "with the stored one. Exit code 0 when every result matches. Given a bundle "
            "(from `smartlab publish`), the bundle alone is used: it is checked against its "
            "manifest and each of its campaigns is re-run."
        ),
    )
    parser.add_argument(
        "target",
        help="a campaign id or a run uid, or a published bundle's folder (every campaign in it)",
    )
    parser.add_argument(
        "--directory", default="./lab-data", help="lab data folder holding the catalog"
    )
    parser.add_argument(
        "--tolerance",
        type=non_negative_float,
        default=0.25,
        help="largest allowed difference per readout (default: %(default)s, half the noise)",
    )
    parser.set_defaults(func=run_reproduce)


def run_reproduce(args: argparse.Namespace) -> int:
    """Reproduce and print the report; return 0 on a match, 1 otherwise (2: a bad bundle)."""
    from ..campaign.reproduce import ReproductionReport, reproduce
    from ..publish import MANIFEST_NAME, BundleError
    from ..publish.bundle_lab import BundleLab
    from ..session import Lab
    from ..storage import LabInUseError

    reports: list[ReproductionReport] = []
    if (Path(args.target) / MANIFEST_NAME).is_file():
        try:
            bundle_lab = BundleLab(args.target)
        except BundleError as exc:
            print(f"smartlab reproduce: {exc}", file=sys.stderr)
            return 2
        with bundle_lab:
            campaigns = bundle_lab.bundle.campaigns
            if not campaigns:
                print(f"smartlab reproduce: {args.target} holds no campaign", file=sys.stderr)
                return 2
            for campaign_id in campaigns:
                reports.append(reproduce(bundle_lab.catalog, campaign_id, tolerance=args.tolerance))
    else:
        try:  # as the writer, a crashed session's runs are recovered first
            archive = Lab(devices={}, directory=args.directory)
        except LabInUseError:  # a notebook has the lab open: read what is stored
            archive = Lab(devices={}, directory=args.directory, read_only=True)
        with archive:
            archive.wait()
            reports.append(reproduce(archive.catalog, args.target, tolerance=args.tolerance))
    for report in reports:
        _print(report)
    return 0 if all(report.matches for report in reports) else 1


def _print(report: Any) -> None:
    for c in report.comparisons:
        if c.note:  # e.g. a run whose process died: its recorded failure stands
            print(f"{c.uid}  {c.note}")
            continue
        print(f"{c.uid}  recorded {c.recorded}  reproduced {c.reproduced}  diff {c.difference:.3g}")
    print(report.summary())

"""``%lab open``: give a notebook its own simulated lab, fresh if asked.

A published notebook must give its reader the numbers it shows, whatever
the reader's kernel is configured with and however often it is run. So
``%lab open`` takes the settings of :meth:`Lab.simulated` (and its
defaults), not the kernel's configuration, and ``--fresh`` starts from an
empty lab directory: the runs of an earlier Run All are not in the
catalog, and the notebook's checks see only its own.

On a replay of a published bundle (``$SMARTLAB_REPLAY_BUNDLE``, set by
``smartlab replay``), ``%lab open`` opens no directory: the lab is the
bundle's read-only lab whatever the line names, and ``--fresh`` rewinds it
(the recorded runs and campaign ids are handed out from the first again), as
a fresh folder starts the published notebook from an empty catalog.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
from pathlib import Path
from typing import Any, NoReturn

from IPython.core.error import UsageError

from ..publish import REPLAY_ENV
from ..publish.bundle_lab import BundleLab
from ..session import Lab
from ..storage.lock import LabDirectoryLock
from .connect import MissingLab

#: What a lab writes at the top of its directory; ``--fresh`` empties only such a folder.
LAB_ENTRIES = frozenset(
    {
        "journal",
        "catalog",
        "lab.lock",
        "lab.log",
        "alarms.jsonl",
        "lims.sqlite",
        "lims.sqlite-journal",
        "lims.sqlite-wal",
        "lims.sqlite-shm",
        "campaign.png",
    }
)

USAGE = (
    "%lab open DIRECTORY [--fresh] [--seed N] [--time-scale X] [--operator NAME] "
    "[--room] [--response VARIABLE] [--stocks VARIABLE]"
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message}; usage: {USAGE}")


def _parser() -> _Parser:
    parser = _Parser(prog="%lab open", add_help=False)
    parser.add_argument("directory")
    parser.add_argument("--fresh", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--time-scale", type=float, default=100.0)
    parser.add_argument("--operator", default=None)
    parser.add_argument("--room", action="store_true")
    parser.add_argument("--response", default=None)
    parser.add_argument("--stocks", default=None)
    return parser


def parse_open(line: str) -> argparse.Namespace:
    """Read the arguments of ``%lab open``.

    Raises:
        UsageError: Naming what is wrong (a missing directory, an unknown
            option, a seed that is not a whole number >= 0, a time scale <= 0).
    """
    try:
        words = shlex.split(line)
    except ValueError as exc:
        raise UsageError(f"cannot read {line!r}: {exc}; usage: {USAGE}") from None
    args = _parser().parse_args(words)
    if args.seed < 0:
        raise UsageError(f"--seed must be a whole number >= 0, got {args.seed}")
    if not args.time_scale > 0:
        raise UsageError(f"--time-scale must be a number > 0, got {args.time_scale:g}")
    return args


def clear_lab_directory(directory: Path) -> None:
    """Empty a lab directory so a lab starts there with an empty catalog.

    Only a folder that holds nothing but what a lab writes (:data:`LAB_ENTRIES`)
    is emptied, and only while no lab writes to it (its lock is taken first).

    Raises:
        ValueError: If the folder holds anything else, naming it.
        LabInUseError: If an open lab (in this process or another) writes to it.
    """
    if not directory.exists():
        return
    if not directory.is_dir():
        raise ValueError(f"--fresh: {directory} is a file, not a lab directory")
    foreign = sorted(p.name for p in directory.iterdir() if p.name not in LAB_ENTRIES)
    if foreign:
        raise ValueError(
            f"--fresh would delete {directory}, but it holds {foreign}, which no lab writes; "
            f"a lab directory holds only {sorted(LAB_ENTRIES)}. Choose another directory."
        )
    lock = LabDirectoryLock(directory)
    lock.acquire()
    try:
        for entry in directory.iterdir():
            if entry.name == lock.path.name:
                continue
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    finally:
        lock.release()


def open_lab(args: argparse.Namespace, current: Any, user_ns: dict[str, Any]) -> Lab:
    """Close ``current`` (the kernel's lab) and open the simulated lab ``args`` describe.

    Args:
        args: From :func:`parse_open`.
        current: The kernel's lab now (closed here), or ``None``.
        user_ns: The notebook's namespace, where ``--response`` and ``--stocks`` name variables.

    Raises:
        UsageError: If ``--response`` or ``--stocks`` names no variable.
        ValueError: If ``--fresh`` would delete a folder that is not a lab's.
        LabInUseError: If another open lab writes to the directory.
    """
    replayed = os.environ.get(REPLAY_ENV)
    if replayed:
        return _replay_lab(Path(replayed), args.fresh, current)
    extra: dict[str, Any] = {}
    for option in ("response", "stocks"):
        name = getattr(args, option)
        if name is None:
            continue
        if name not in user_ns:
            raise UsageError(f"--{option} {name}: there is no variable {name!r} in the notebook")
        extra[option] = user_ns[name]
    if isinstance(current, MissingLab):
        current = None
    directory = Path(args.directory).expanduser().resolve()
    same = current is not None and Path(getattr(current, "directory", "")) == directory
    if same:
        current.close()
    if args.fresh:
        clear_lab_directory(directory)
    if current is not None and not same:
        current.close()
    return Lab.simulated(
        seed=args.seed,
        directory=directory,
        time_scale=args.time_scale,
        operator=args.operator,
        room=args.room,
        **extra,
    )


def _replay_lab(bundle: Path, fresh: bool, current: Any) -> Lab:
    """The bundle's lab: the kernel's own if it replays ``bundle`` (rewound if ``fresh``)."""
    reused = isinstance(current, BundleLab) and not current._closed
    if reused and current.bundle.path == bundle.resolve():
        if fresh:
            current.rewind()
        return current
    if current is not None and not isinstance(current, MissingLab):
        current.close()
    return Lab.from_bundle(bundle)


def describe(lab: Lab, fresh: bool) -> str:
    """One line on the lab ``%lab open`` opened (its folder relative to the notebook's)."""
    if isinstance(lab, BundleLab):
        return lab.describe()
    bench = lab.bench.settings if lab.bench is not None else {}
    scale = bench.get("time_scale")
    pace = f", {scale:g} simulated s per s" if isinstance(scale, int | float) else ""
    room = " and room" if lab.room is not None else ""
    if fresh:
        held = "empty catalog"
    else:
        count = len(lab.catalog)
        held = f"{count} run{'' if count == 1 else 's'} in its catalog"
    try:  # where the notebook is, so a published notebook shows no reader's home folder
        where = str(lab.directory.relative_to(Path.cwd()))
    except ValueError:
        where = str(lab.directory)
    return f"lab: simulated bench{room}, seed {lab.seed}{pace}, in {where} ({held})"

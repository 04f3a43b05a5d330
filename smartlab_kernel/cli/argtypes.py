"""Argument types of the ``smartlab`` command: numbers checked when the line is read.

A bad number is refused by argparse with the option's name, what was given
and what is allowed (exit 2), before anything starts, instead of surfacing
later as a traceback from deep inside (a negative time scale) or as a
setting that silently means something else (nbclient reads a timeout of -1
as "no timeout").
"""

from __future__ import annotations

import argparse
import math


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


def positive_float(text: str) -> float:
    """A finite number > 0 (seconds, a time scale).

    Raises:
        argparse.ArgumentTypeError: Naming the value and what is allowed.
    """
    value = _number(text)
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return value


def non_negative_float(text: str) -> float:
    """A finite number >= 0 (a tolerance).

    Raises:
        argparse.ArgumentTypeError: Naming the value and what is allowed.
    """
    value = _number(text)
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """A whole number >= 1 (a count).

    Raises:
        argparse.ArgumentTypeError: Naming the value and what is allowed.
    """
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}")
    return value

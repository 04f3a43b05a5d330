"""Short tracebacks: an error from a plan is shown from the user's cell, not from bluesky.

A plan's error reaches the notebook through ``Run.wait()`` with the frames
of the RunEngine's thread: forty lines of bluesky and smartlab_kernel
before the one line that matters. The Smart Lab kernel shows the frames
outside those packages (the user's cells and code), the error, and a line
saying how many frames it hid; ``%tb`` and ``%debug`` still have them all,
and the whole traceback goes to the lab's log file (``%lab log``).
"""

from __future__ import annotations

import importlib.util
import logging
import sys
from pathlib import Path
from types import TracebackType
from typing import Any

from IPython.core.error import UsageError

#: Packages whose frames a notebook's traceback leaves out (opentelemetry:
#: bluesky's tracing wraps the RunEngine's loop; IPython: how magics are called).
HIDDEN_PACKAGES = ("smartlab_kernel", "bluesky", "ophyd", "event_model", "opentelemetry", "IPython")


def hidden_roots() -> tuple[str, ...]:
    """The folders of :data:`HIDDEN_PACKAGES` (those installed; a namespace package's too)."""
    roots = []
    for name in HIDDEN_PACKAGES:
        spec = importlib.util.find_spec(name)
        for folder in (spec.submodule_search_locations or []) if spec else []:
            roots.append(str(Path(folder).resolve()) + "/")
    return tuple(roots)


def trim(tb: TracebackType | None, roots: tuple[str, ...]) -> tuple[TracebackType | None, int]:
    """Drop the frames of files under ``roots``, except the first.

    The first frame is where IPython ran the cell; IPython never shows it
    (its ``tb_offset``), so it stays for IPython to skip.

    Returns:
        The shorter traceback, and how many frames were dropped.
    """
    kept: list[TracebackType] = []
    dropped = 0
    while tb is not None:
        filename = str(Path(tb.tb_frame.f_code.co_filename).resolve())
        if not kept or not filename.startswith(roots):
            kept.append(tb)
        else:
            dropped += 1
        tb = tb.tb_next
    short: TracebackType | None = None
    for frame in reversed(kept):
        short = TracebackType(short, frame.tb_frame, frame.tb_lasti, frame.tb_lineno)
    return short, dropped


def _chained(error: BaseException) -> list[BaseException]:
    """The exceptions chained to ``error`` (causes and contexts), without repeats."""
    found: list[BaseException] = []
    link = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
    while link is not None and all(link is not seen for seen in found):
        found.append(link)
        link = link.__cause__ or (None if link.__suppress_context__ else link.__context__)
    return found


def show_short_traceback(
    shell: Any,
    etype: type[BaseException],
    value: BaseException,
    tb: TracebackType | None,
    tb_offset: int | None = None,
) -> None:
    """IPython's custom exception handler of the Smart Lab kernel (see ``set_custom_exc``).

    Shows the traceback without the frames of :data:`HIDDEN_PACKAGES` and
    a note of how many it hid; writes the whole traceback to the lab's log
    (``lab.logger`` in the notebook's namespace, if it has one). A traceback
    with nothing to hide, a syntax error, a magic's usage error (one line)
    and an error that renders its own traceback (``_render_traceback_``) are
    shown as IPython would.
    """
    roots = hidden_roots()
    short, dropped = trim(tb, roots)
    chained = _chained(value)
    shortened = [trim(error.__traceback__, roots) for error in chained]
    dropped += sum(count for _, count in shortened)
    if (
        dropped == 0
        or issubclass(etype, SyntaxError | UsageError)
        or hasattr(value, "_render_traceback_")
    ):
        shell.showtraceback((etype, value, tb), tb_offset=tb_offset, running_compiled_code=True)
        return
    sys.last_type, sys.last_value, sys.last_traceback = etype, value, tb  # for %tb and %debug
    lab = shell.user_ns.get("lab")
    logger = getattr(lab, "logger", None)
    if logger is not None:
        logger.error("unhandled error in a notebook cell", exc_info=(etype, value, tb))
    originals = [error.__traceback__ for error in chained]
    try:  # IPython formats a chained exception from its own traceback
        for error, (error_tb, _) in zip(chained, shortened, strict=True):
            error.__traceback__ = error_tb
        stb = shell.InteractiveTB.structured_traceback(etype, value, short, tb_offset=tb_offset)
    finally:
        for error, original in zip(chained, originals, strict=True):
            error.__traceback__ = original
    frames = "1 frame" if dropped == 1 else f"{dropped} frames"
    where = f" and {lab.log_path} (%lab log)" if getattr(lab, "log_path", None) else ""
    stb.append(
        f"({frames} inside smartlab_kernel, bluesky and the libraries they use hidden; "
        f"%tb shows them all{where})"
    )
    shell._showtraceback(etype, value, stb)


class ToLabLog(logging.Handler):
    """Writes bluesky's own log records to the notebook's lab's log file, not to stderr.

    A lab's RunEngine logs to the lab's log already (``lab.logger``); bluesky
    also logs through its module logger (``logging.getLogger("bluesky")``,
    e.g. "No open traces left to close!" when a lab closes during a plan),
    which no lab owns. Without a handler, Python prints those on stderr, in
    the notebook. This handler, on that logger, passes them to the lab in the
    notebook's namespace (``lab``), or drops them if it has no log.

    Args:
        shell: The IPython shell (its ``user_ns`` holds ``lab``).
    """

    def __init__(self, shell: Any) -> None:
        super().__init__(logging.WARNING)
        self.shell = shell

    def emit(self, record: logging.LogRecord) -> None:
        """Hand ``record`` to the lab's logger."""
        logger = getattr(self.shell.user_ns.get("lab"), "logger", None)
        if isinstance(logger, logging.Logger):
            logger.handle(record)

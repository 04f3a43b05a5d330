"""Replaying plans against recorded runs: what ``submit`` does on a bundle's lab.

A plan is driven here instead of on a RunEngine. Each run it opens is
matched with a recorded run of the same plan name and arguments (see
:data:`ARGUMENT_KEYS`), and the plan gets that run's uid, so it reads the
recorded data from the catalog. Inside a run nothing is moved or read:
every message is answered with ``None``. A recorded run that did not end in
success raises :class:`RecordedRunFailed` inside the plan (with the recorded
reason), as the original failure did. A run that was not recorded is
refused with :class:`~smartlab_kernel.publish.errors.NotRecordedError`,
naming the nearest recorded one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from bluesky.utils import Msg

from .bundle import RecordedRun
from .errors import NotRecordedError

#: Start-document keys that say which run a plan opens: its name and its arguments.
ARGUMENT_KEYS = ("plan_name", "campaign_id", "recipe", "plan_args", "scan_index")
#: Relative tolerance of numbers in arguments (a planner recomputing a suggestion on
#: another machine may differ in the last bits).
RELATIVE_TOLERANCE = 1e-6


class RecordedRunFailed(RuntimeError):
    """Raised inside a replayed plan where its recorded run ended without success."""


def arguments(md: Mapping[str, Any]) -> dict[str, Any]:
    """The plan name and arguments of a run's start metadata (:data:`ARGUMENT_KEYS`)."""
    return {key: md[key] for key in ARGUMENT_KEYS if key in md}


def differences(given: Any, recorded: Any, path: str = "") -> list[str]:
    """Where ``given`` and ``recorded`` differ, one ``"path: given A, recorded B"`` each.

    Numbers are equal within :data:`RELATIVE_TOLERANCE`.
    """
    return [
        f"{where}: given {_said(a)}, recorded {_said(b)}"
        for where, a, b in _differing(given, recorded, path)
    ]


_ABSENT = object()


def _said(value: Any) -> str:
    if value is _ABSENT:
        return "nothing"
    return f"{float(value):.6g}" if _number(value) else repr(value)


def _differing(given: Any, recorded: Any, path: str) -> list[tuple[str, Any, Any]]:
    """``(path, given, recorded)`` of each leaf where the two differ."""
    if isinstance(given, Mapping) and isinstance(recorded, Mapping):
        found = []
        for key in sorted(set(given) | set(recorded), key=str):
            where = f"{path}.{key}" if path else str(key)
            found += _differing(given.get(key, _ABSENT), recorded.get(key, _ABSENT), where)
        return found
    if isinstance(given, list | tuple) and isinstance(recorded, list | tuple):
        if len(given) != len(recorded):
            return [(path, f"{len(given)} items", f"{len(recorded)} items")]
        found = []
        for index, (a, b) in enumerate(zip(given, recorded, strict=True)):
            found += _differing(a, b, f"{path}[{index}]")
        return found
    if _number(given) and _number(recorded):
        close = math.isclose(
            float(given), float(recorded), rel_tol=RELATIVE_TOLERANCE, abs_tol=1e-12
        )
        return [] if close else [(path, given, recorded)]
    return [] if given == recorded else [(path, given, recorded)]


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class Recording:
    """The recorded runs of a bundle, handed out to the plans that open them again.

    Each recorded run is handed out once, in order; a plan opened again
    after all its recorded runs were handed out (a cell executed twice) gets
    the first recorded run that matches.

    Args:
        runs: The recorded runs, in the order they started.
        source: Where they come from, for messages (the bundle's path).
    """

    def __init__(self, runs: Sequence[RecordedRun], source: str) -> None:
        self.runs = list(runs)
        self.source = source
        self._taken: set[str] = set()

    def rewind(self) -> None:
        """Hand out every run again from the first (a notebook replayed from the top)."""
        self._taken.clear()

    def take(self, md: Mapping[str, Any]) -> RecordedRun:
        """The recorded run a plan opening a run with start metadata ``md`` gets.

        Raises:
            NotRecordedError: If no recorded run has its plan name and arguments,
                naming the nearest recorded run and how it differs.
        """
        wanted = arguments(md)
        matching = [run for run in self.runs if not differences(wanted, arguments(run.start))]
        fresh = [run for run in matching if run.uid not in self._taken]
        if fresh or matching:
            found = (fresh or matching)[0]
            self._taken.add(found.uid)
            return found
        raise NotRecordedError(self._refusal(wanted))

    def _refusal(self, wanted: dict[str, Any]) -> str:
        name = wanted.get("plan_name", "<no plan_name>")
        said = f"a {name} run with {_short(wanted)} was not recorded in {self.source}"
        if not self.runs:
            return f"{said}, which holds no runs"
        nearest = min(self.runs, key=lambda run: _distance(wanted, arguments(run.start)))
        diff = differences(wanted, arguments(nearest.start))
        return (
            f"{said}. A replay returns recorded runs only (matched by plan name and "
            f"arguments, numbers within a relative {RELATIVE_TOLERANCE:g}). The nearest "
            f"recorded run is {nearest.uid} ({nearest.plan_name}); it differs in "
            + "; ".join(diff[:6])
            + (f"; and {len(diff) - 6} more" if len(diff) > 6 else "")
            + ". To measure something new, run the notebook on a lab (Lab.simulated, "
            "or `smartlab reproduce` for the recorded campaign)."
        )


def _distance(given: Mapping[str, Any], recorded: Mapping[str, Any]) -> float:
    """How far two sets of arguments are apart: relative differences of numbers, 1 per other."""
    if given.get("plan_name") != recorded.get("plan_name"):
        return 1e9
    total = 0.0
    for _, a, b in _differing(given, recorded, ""):
        if _number(a) and _number(b):
            total += abs(a - b) / max(1.0, abs(a), abs(b))
        else:
            total += 1.0
    return total


def _short(values: Mapping[str, Any]) -> str:
    text = repr({k: v for k, v in values.items() if k != "plan_name"})
    return text if len(text) <= 300 else text[:297] + "..."


def replay_plan(
    plan: Iterable[Msg],
    recording: Recording,
    submitted_md: Mapping[str, Any],
    on_start: Callable[[dict[str, Any]], None] | None = None,
) -> Any:
    """Drive ``plan`` against ``recording``; return what the plan returns.

    Args:
        plan: A Bluesky plan.
        recording: The recorded runs.
        submitted_md: Metadata every run of the plan gets (e.g. ``campaign_id``
            given to ``submit``), merged under the plan's own.
        on_start: Called with each recorded start document handed out.

    Raises:
        NotRecordedError: If the plan opens a run that was not recorded (the
            plan is closed, not told, so it cannot take it as a failed experiment).
        Exception: What the plan raises.
    """
    generator = iter(plan)
    open_runs: list[RecordedRun] = []
    reply: Any = None
    failure: BaseException | None = None
    armed: BaseException | None = None  # thrown at the message after the failed run's open
    while True:
        try:
            if failure is not None:
                error, failure = failure, None
                msg = generator.throw(error)  # type: ignore[attr-defined]
            else:
                msg = generator.send(reply) if hasattr(generator, "send") else next(generator)
        except StopIteration as stop:
            return stop.value
        reply = None
        if armed is not None and msg.command != "close_run":
            failure, armed = armed, None
            continue
        armed = None
        if msg.command == "open_run":
            try:
                recorded = recording.take({**submitted_md, **msg.kwargs})
            except NotRecordedError:
                close = getattr(generator, "close", None)
                if close is not None:
                    close()
                raise
            open_runs.append(recorded)
            if on_start is not None:
                on_start(recorded.start)
            reply = recorded.uid
            if recorded.stop.get("exit_status") != "success":
                armed = RecordedRunFailed(
                    str(recorded.stop.get("reason") or recorded.stop.get("exit_status"))
                )
        elif msg.command == "close_run" and open_runs:
            reply = open_runs.pop().uid


__all__ = [
    "ARGUMENT_KEYS",
    "RELATIVE_TOLERANCE",
    "RecordedRunFailed",
    "Recording",
    "arguments",
    "differences",
    "replay_plan",
]

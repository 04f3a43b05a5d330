"""IPython magics for the lab.

``%lab`` (also ``%lab log`` and ``%lab open``), ``%run_plan``, ``%pause``,
``%resume``, ``%abort``, ``%suggest`` and ``%%experiment``.
"""

from __future__ import annotations

import json
import re
import time
from collections import deque
from pathlib import Path
from typing import Any

import bluesky.plan_stubs as bps
import bluesky.preprocessors as bpp
from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.display import display

from ..campaign.loop import bench_recipe
from ..plans import measure_recipe
from ..remote.lab import RemoteLab
from ..session import Lab
from ..session.run import Run
from .connect import MissingLab, adopt
from .lab_open import describe, open_lab, parse_open
from .namespace import namespace

EXPERIMENT_RECORD_PLAN = "experiment_record"
#: Entries ``%lab log`` shows when not told (an entry: a line, and its traceback if any).
LOG_ENTRIES = 10
#: How an entry of the lab's log starts (its time, as ``logging`` writes it).
_ENTRY_START = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ")
#: Seconds ``%pause`` waits for a run that is about to start, and for it to pause.
PAUSE_WAIT_S = 10.0
#: Seconds ``%suggest`` waits for the planner.
SUGGEST_WAIT_S = 300.0
LAB_USAGE = "%lab (status), %lab log [entries], or %lab open DIRECTORY [options]"


def _widget(name: str) -> Any:
    """A widget class from the widgets layer, or ``None`` if it is not available."""
    from .. import widgets

    return getattr(widgets, name, None)


def status_notes(status: dict[str, Any]) -> list[str]:
    """What ``%lab`` says in words before the status: read-only, recovery under way.

    Args:
        status: A lab's ``status()`` (keys it lacks, e.g. on a remote lab, say nothing).

    Returns:
        One line per note; none for a writable lab that recovers nothing.
    """
    notes = []
    if status.get("read_only"):
        notes.append(
            f"read-only: this lab only reads the catalog in {status.get('directory', '?')} "
            "(another lab may write it); it runs no plans and recovers nothing"
        )
    count = status.get("recovering") or 0
    if isinstance(count, int) and count > 0:
        runs = "1 run" if count == 1 else f"{count} runs"
        notes.append(
            f"recovering {runs} of an earlier session into the catalog; until it is "
            "done such a run may show without its stop document (lab.wait() waits for it)"
        )
    return notes


class ExperimentFailed(RuntimeError):
    """A ``%%experiment`` cell raised; the notebook shows its error once, then this line."""

    def _render_traceback_(self) -> list[str]:
        return [f"{type(self).__name__}: {self}"]


def log_entries(path: Path, count: int) -> list[str]:
    """The last ``count`` entries of a lab's log file (each with the lines that follow it).

    Args:
        path: The log file (missing: no entries).
        count: How many entries, from the end.
    """
    if not path.is_file():
        return []
    entries: deque[str] = deque(maxlen=count)
    with path.open(encoding="utf-8", errors="replace") as log:
        for line in log:
            if _ENTRY_START.match(line) or not entries:
                entries.append(line)
            else:
                entries[-1] += line
    return list(entries)


@magics_class
class LabMagics(Magics):
    """Magics that act on the notebook's lab (``lab`` in the user namespace)."""

    def __init__(self, shell: Any, lab: Lab | RemoteLab | MissingLab) -> None:
        super().__init__(shell)
        self.lab = lab
        self.ipython: Any = shell

    @line_magic("lab")  # type: ignore[arg-type]
    def lab_status(self, line: str = "") -> dict[str, Any] | None:
        """Show the lab's status; ``%lab log`` shows its log, ``%lab open`` opens another.

        ``%lab``: devices, run state, storage backlog, recovery reports and
        alarms. Lines in words come first when they matter: a read-only lab,
        and runs of an earlier, crashed session still being recovered into
        the catalog ("recovering 2 runs"), then the whole status as JSON.

        ``%lab log [entries]``: the last entries (default 10) of the lab's log
        file, with the tracebacks of failed plans the notebook did not show.

        ``%lab open DIRECTORY [--fresh] [--seed N] [--time-scale X] [--operator NAME]
        [--room] [--response VARIABLE] [--stocks VARIABLE]``: close the kernel's
        lab and open a simulated one in ``DIRECTORY`` with these settings (those
        of :meth:`Lab.simulated`, with its defaults); ``--fresh`` empties the
        directory first, so the catalog holds only what the notebook runs from
        then on. ``lab`` and the devices in the namespace are then the new lab's.
        """
        command, _, rest = line.strip().partition(" ")
        if command == "log":
            self._show_log(rest.strip())
            return None
        if command == "open":
            self._open(rest)
            return None
        if command:
            raise UsageError(f"unknown %lab command {command!r}; use {LAB_USAGE}")
        status = self.lab.status()
        for note in status_notes(status):
            print(note)
        print(json.dumps(status, indent=1, default=str))
        return status

    def _show_log(self, text: str) -> None:
        if text and (not text.isdigit() or int(text) < 1):
            raise UsageError(f"usage: %lab log [entries], a whole number >= 1; got {text!r}")
        path = getattr(self.lab, "log_path", None)
        if path is None:
            print("this lab keeps no log here: a shared lab server's log is on the server")
            return
        entries = log_entries(path, int(text or LOG_ENTRIES))
        if not entries:
            print(f"the lab's log {path} is empty")
            return
        said = "entry" if len(entries) == 1 else f"{len(entries)} entries"
        print(f"the last {said} of {path}:")
        print("".join(entries), end="")

    def _open(self, text: str) -> None:
        args = parse_open(text)
        lab = open_lab(args, self.lab, self.ipython.user_ns)
        self.lab = lab
        adopt(lab)
        self.ipython.push(namespace(lab))
        print(describe(lab, args.fresh))

    @line_magic
    def run_plan(self, line: str) -> Any:
        """Submit a plan without blocking: ``%run_plan count([lab.devices['spectrometer']])``."""
        if not line.strip():
            raise ValueError("usage: %run_plan <plan expression>, e.g. %run_plan count([det], 5)")
        if not isinstance(self.lab, Lab):
            raise TypeError(
                "%run_plan runs a plan expression on a local lab; on a shared lab server "
                "submit by plan name: lab.submit('measure', temperature_c=40.0)"
            )
        plan = self.ipython.ev(line)
        run = self.lab.submit(plan)
        control = _widget("RunControl")
        if control is not None:
            display(control(self.lab))
        return run

    @line_magic
    def pause(self, line: str = "") -> None:
        """Pause the running plan (``%pause defer`` waits for the next checkpoint).

        A plan submitted a moment ago is given a few seconds to start; without
        ``defer`` the magic returns once the run is paused, saying which.
        """
        mode = line.strip()
        if mode not in ("", "defer"):
            raise UsageError(f"usage: %pause or %pause defer; got {mode!r}")
        lab = self.lab
        if not isinstance(lab, Lab):
            lab.pause(defer=bool(mode))
            return
        run = self._starting_run(lab)
        lab.pause(defer=bool(mode))
        if run is None or mode:
            return
        deadline = time.monotonic() + PAUSE_WAIT_S
        while run.state == "running" and time.monotonic() < deadline:
            time.sleep(0.01)
        if run.state == "paused":
            print(f"paused run #{run.number} ({run.plan_name}): %resume, or %abort <reason>")

    @staticmethod
    def _starting_run(lab: Lab) -> Run | None:
        """The run about to pause: the running one, once the RunEngine runs it."""
        deadline = time.monotonic() + PAUSE_WAIT_S
        while time.monotonic() < deadline:
            current = lab.current
            if lab.state == "running" and current is not None:
                return current
            if current is None and not any(run.state == "queued" for run in lab.runs):
                return None  # nothing will run: lab.pause() says so
            time.sleep(0.01)
        return lab.current

    @line_magic
    def resume(self, line: str = "") -> None:
        """Resume the paused plan."""
        self.lab.resume()
        current = getattr(self.lab, "current", None)
        if isinstance(current, Run):
            print(f"resumed run #{current.number} ({current.plan_name})")

    @line_magic
    def abort(self, line: str = "") -> None:
        """Abort the running plan: ``%abort reason for the record``."""
        self.lab.abort(line.strip() or "aborted from %abort")

    @line_magic
    def suggest(self, line: str = "") -> Any:
        """Ask ``planner`` (in the namespace) for ``n`` suggestions and show them for review.

        The cell ends when the suggestions are there (``planner.pending``), so
        the next cell sees them; accepting one runs its recipe on the bench.
        """
        text = line.strip() or "1"
        if not text.isdigit() or int(text) < 1:
            raise ValueError(f"usage: %suggest n, with n a whole number >= 1; got {text!r}")
        n = int(text)
        planner = self.ipython.user_ns.get("planner")
        if planner is None:
            raise NameError("%suggest needs a `planner` variable (e.g. planner = bench_planner())")
        review = _widget("PlannerReview")
        if review is None:
            suggestions = planner.suggest(n)
            for s in suggestions:
                print(s.id, s.params, s.predicted, s.reason)
            return suggestions
        lab = self.lab
        if not isinstance(lab, Lab):
            raise TypeError("%suggest runs accepted suggestions on the local simulated bench")
        bench = {k: lab.devices[k] for k in ("dispenser", "reactor", "robot", "spectrometer")}

        def run_accepted(params: dict[str, Any], suggestion: Any) -> Any:
            # Under the planner's campaign, as campaign() records its runs: a search
            # by planner.campaign_id (and resume_planner) finds what was executed.
            md = {"suggestion_id": getattr(suggestion, "id", None)}
            return lab.submit(
                measure_recipe(bench_recipe(params), md=md, **bench),
                campaign_id=planner.campaign_id,
            )

        widget = review(planner, on_accept=run_accepted, lab=lab)
        widget.suggest(n).result(SUGGEST_WAIT_S)
        display(widget)
        return widget

    @cell_magic
    def experiment(self, line: str, cell: str) -> None:
        """Run the cell as a named experiment.

        Every run the cell starts carries ``experiment = {name, cell}`` in its
        start document; afterwards an ``experiment_record`` run stores the
        cell's source, its printed output, and the uids of those runs.

        Raises:
            ExperimentFailed: If the cell raised (its error is shown above this
                one line, and the record says it failed), so Run All stops here.
        """
        from IPython.utils.capture import capture_output

        name = line.strip()
        if not name:
            raise ValueError("usage: %%experiment <name>")
        if not isinstance(self.lab, Lab):
            raise TypeError("%%experiment records runs of a local lab")
        before = len(self.lab.runs)
        self.lab.md["experiment"] = {"name": name, "cell": cell}
        try:
            with capture_output(display=False) as captured:
                result = self.ipython.run_cell(cell)
        finally:
            self.lab.md.pop("experiment", None)
        captured.show()
        started = self.lab.runs[before:]

        def record() -> Any:
            md = {
                "plan_name": EXPERIMENT_RECORD_PLAN,
                "experiment_name": name,
                "cell": cell,
                "stdout": captured.stdout[-20000:],
                "stderr": captured.stderr[-20000:],
                "succeeded": bool(result.success),
                "run_uids": [uid for run in started for uid in run.uids],
            }
            yield from bpp.run_wrapper(bps.null(), md=md)

        self.lab.submit(record())
        if not result.success:
            error = result.error_in_exec or result.error_before_exec
            raise ExperimentFailed(
                f"experiment {name!r} failed ({type(error).__name__}, shown above); "
                "its record says so"
            )

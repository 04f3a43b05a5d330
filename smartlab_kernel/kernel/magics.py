"""IPython magics for the lab.

``%lab``, ``%run_plan``, ``%pause``, ``%resume``, ``%abort``, ``%suggest`` and
``%%experiment``.
"""

from __future__ import annotations

import json
from typing import Any

import bluesky.plan_stubs as bps
import bluesky.preprocessors as bpp
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.display import display

from ..campaign.loop import bench_recipe
from ..plans import measure_recipe
from ..remote.lab import RemoteLab
from ..session import Lab

EXPERIMENT_RECORD_PLAN = "experiment_record"


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


@magics_class
class LabMagics(Magics):
    """Magics that act on the notebook's lab (``lab`` in the user namespace)."""

    def __init__(self, shell: Any, lab: Lab | RemoteLab) -> None:
        super().__init__(shell)
        self.lab = lab
        self.ipython: Any = shell

    @line_magic("lab")  # type: ignore[arg-type]
    def lab_status(self, line: str = "") -> dict[str, Any]:
        """Show devices, run state, storage backlog, recovery reports and alarms.

        Lines in words come first when they matter: a read-only lab, and runs
        of an earlier, crashed session still being recovered into the catalog
        ("recovering 2 runs"), then the whole status as JSON.
        """
        status = self.lab.status()
        for note in status_notes(status):
            print(note)
        print(json.dumps(status, indent=1, default=str))
        return status

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
        """Pause the running plan (``%pause defer`` waits for the next checkpoint)."""
        self.lab.pause(defer=line.strip() == "defer")

    @line_magic
    def resume(self, line: str = "") -> None:
        """Resume the paused plan."""
        self.lab.resume()

    @line_magic
    def abort(self, line: str = "") -> None:
        """Abort the running plan: ``%abort reason for the record``."""
        self.lab.abort(line.strip() or "aborted from %abort")

    @line_magic
    def suggest(self, line: str = "") -> Any:
        """Ask ``planner`` (in the namespace) for ``n`` suggestions and show them for review."""
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
            md = {"suggestion_id": getattr(suggestion, "id", None)}
            return lab.submit(measure_recipe(bench_recipe(params), md=md, **bench))

        widget = review(planner, on_accept=run_accepted, lab=lab)
        widget.suggest(n)
        display(widget)
        return widget

    @cell_magic
    def experiment(self, line: str, cell: str) -> None:
        """Run the cell as a named experiment.

        Every run the cell starts carries ``experiment = {name, cell}`` in its
        start document; afterwards an ``experiment_record`` run stores the
        cell's source, its printed output, and the uids of those runs.
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

"""RunControl: what the lab is running, its progress, and Pause / Resume / Abort."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w

from smartlab_kernel.session import Lab, Run

from . import _format
from .marshal import KernelLoop, Throttle

ACTIVE_STATES = ("queued", "running", "paused")


class RunControl(w.VBox):
    """Show the lab's current run and control it from the notebook.

    The plan name, its state (idle / queued / running / paused / finished /
    failed / aborted), points done of expected, elapsed and estimated
    remaining time, and the last error in plain words. Abort asks for
    confirmation (and an optional reason) first.

    Run callbacks arrive on the RunEngine thread; they only ask for a
    refresh, which runs on the kernel's loop at most ``max_rate`` times a second.

    Args:
        lab: The lab whose runs to show.
        tick: Seconds between refreshes of the elapsed time while a run is active.
        max_rate: Most refreshes per second caused by run progress.
    """

    def __init__(self, lab: Lab, *, tick: float = 0.5, max_rate: float = 10.0) -> None:
        self.lab = lab
        self.run: Run | None = None
        self._loop = KernelLoop()
        self._throttle = Throttle(self._loop, self.refresh, max_rate)
        self._watched: set[int] = set()
        self._refusal = ""
        self.plan = w.HTML(layout=w.Layout(min_width="16em"))
        self.state = w.HTML()
        self.state.add_class("smartlab-run-state")
        self.progress = w.IntProgress(value=0, min=0, max=1, layout=w.Layout(width="14em"))
        self.counts = w.HTML()
        self.timing = w.HTML()
        self.pause_button = w.Button(description="Pause", icon="pause", tooltip="Pause the plan")
        self.resume_button = w.Button(description="Resume", icon="play", tooltip="Resume the plan")
        self.abort_button = w.Button(
            description="Abort", icon="stop", button_style="danger", tooltip="Abort the plan"
        )
        for button, name in (
            (self.pause_button, "pause"),
            (self.resume_button, "resume"),
            (self.abort_button, "abort"),
        ):
            button.add_class(f"smartlab-{name}")
        self.reason = w.Text(placeholder="reason (optional)", layout=w.Layout(width="16em"))
        self.confirm_button = w.Button(description="Yes, abort", button_style="danger")
        self.confirm_button.add_class("smartlab-confirm-abort")
        self.cancel_button = w.Button(description="Cancel")
        self.confirm_text = w.HTML()
        self.confirm_box = w.HBox(
            [self.confirm_text, self.reason, self.confirm_button, self.cancel_button],
            layout=w.Layout(display="none"),
        )
        self.error = w.HTML()
        self.error.add_class("smartlab-run-error")
        self.pause_button.on_click(lambda _: self.pause())
        self.resume_button.on_click(lambda _: self.resume())
        self.abort_button.on_click(lambda _: self.ask_abort())
        self.confirm_button.on_click(lambda _: self.confirm_abort())
        self.cancel_button.on_click(lambda _: self.cancel_abort())
        super().__init__(
            [
                w.HBox([self.plan, self.state]),
                w.HBox([self.progress, self.counts, self.timing]),
                w.HBox([self.pause_button, self.resume_button, self.abort_button]),
                self.confirm_box,
                self.error,
            ]
        )
        self.add_class("smartlab-run-control")
        self._stop_ticks = self._loop.every(tick, self._tick)
        self.refresh()

    # -- actions --------------------------------------------------------------

    def pause(self) -> None:
        """Pause the running plan; a refusal is shown as the error."""
        self._act(self.lab.pause)

    def resume(self) -> None:
        """Resume the paused plan; a refusal is shown as the error."""
        self._act(self.lab.resume)

    def ask_abort(self) -> None:
        """Show the confirmation step for Abort (nothing is aborted yet)."""
        run = self.run
        if run is None or run.state not in ACTIVE_STATES:
            self._refusal = "nothing to abort: no plan is queued or running"
            self.refresh()
            return
        self.confirm_text.value = (
            f"<b>Abort run #{run.number} ({html.escape(run.plan_name)})</b> and drop queued plans?"
        )
        self.confirm_box.layout.display = "flex"

    def confirm_abort(self) -> None:
        """Abort the plan (and queued ones) with the reason typed, then hide the step."""
        reason = self.reason.value.strip() or "aborted by the operator from the notebook"
        self.confirm_box.layout.display = "none"
        self.reason.value = ""
        self._act(lambda: self.lab.abort(reason))

    def cancel_abort(self) -> None:
        """Hide the confirmation step without aborting."""
        self.confirm_box.layout.display = "none"
        self.reason.value = ""

    def _act(self, action: Any) -> None:
        try:
            action()
        except Exception as exc:
            self._refusal = _format.exception(exc)
        else:
            self._refusal = ""
        self.refresh()

    # -- display --------------------------------------------------------------

    def shown_run(self) -> Run | None:
        """The run to show: the current one, else the next queued, else the last."""
        current = self.lab.current
        if current is not None:
            return current
        runs = list(self.lab.runs)
        queued = [r for r in runs if r.state == "queued"]
        if queued:
            return queued[0]
        return runs[-1] if runs else None

    def _watch(self, run: Run) -> None:
        if id(run) not in self._watched:
            self._watched.add(id(run))
            run.on_change(self._on_run_change)

    def _on_run_change(self, run: Run) -> None:
        # On the RunEngine thread: only ask for a refresh on the kernel loop.
        self._throttle.request()

    def _tick(self) -> None:
        if self.run is None or self.run.state in ACTIVE_STATES or self.shown_run() is not self.run:
            self.refresh()

    def refresh(self) -> None:
        """Update every field from the lab (call on the kernel thread)."""
        for each in list(self.lab.runs):
            if not each.done:
                self._watch(each)
        self.run = run = self.shown_run()
        state = run.state if run is not None else "idle"
        self.state.value = f'<span class="smartlab-state-{state}"><b>{state}</b></span>'
        self.pause_button.disabled = state != "running"
        self.resume_button.disabled = state != "paused"
        self.abort_button.disabled = state not in ACTIVE_STATES
        if state not in ACTIVE_STATES:
            self.confirm_box.layout.display = "none"
        if run is None:
            self.error.value = _format.error(self._refusal)
            self.plan.value = "No plan submitted yet"
            self.progress.value, self.progress.max = 0, 1
            self.counts.value = self.timing.value = ""
            return
        self.plan.value = f"Run #{run.number}: <b>{html.escape(run.plan_name)}</b>"
        total = run.expected_events
        if total and run.events > total:
            # The plan opened more runs than the one its count came from (a plan of
            # several scans; a campaign says its budget): the total is unknown, and so
            # is the time left.
            total = None
        self.progress.max = max(1, total or run.events or 1)
        self.progress.value = min(run.events, self.progress.max)
        self.progress.bar_style = {"finished": "success", "failed": "danger"}.get(state, "")
        self.counts.value = f"{run.events} / {total if total else '?'} points"
        remaining = run.remaining if state in ("running", "paused") and total else None
        self.timing.value = f"elapsed {_format.duration(run.elapsed)}" + (
            f", about {_format.duration(remaining)} left" if remaining is not None else ""
        )
        self.error.value = _format.error(self._refusal or self._run_error(run))

    @staticmethod
    def _run_error(run: Run) -> str:
        if run.state == "failed":
            message = _format.exception(run.error) if run.error else run.reason
            return f"Run #{run.number} failed: {message}"
        if run.state == "aborted":
            return f"Run #{run.number} aborted: {run.reason}"
        return ""

    def close(self) -> None:
        """Stop refreshing and close the widget."""
        self._stop_ticks()
        super().close()


__all__ = ["RunControl"]

"""RunControl: what the lab is running, its progress, and Pause / Resume / Abort."""

from __future__ import annotations

import html
import threading
from dataclasses import dataclass, field
from typing import Any

import ipywidgets as w

from smartlab_kernel.session import Lab, Run
from smartlab_kernel.session.interruptions import Interruption

from . import _format
from .marshal import KernelLoop, Throttle

ACTIVE_STATES = ("queued", "running", "paused")
#: The stream whose events are a run's points (Bluesky's main stream).
POINTS_STREAM = "primary"
#: Text colour of each shown state (``suspended``: running, but held by a suspender,
#: e.g. a safety interlock: a colour of its own, not the paused one).
STATE_COLOURS = {
    "idle": "#555",
    "queued": "#555",
    "running": "#1565c0",
    "paused": "#b26a00",
    "suspended": "#d84315",
    "finished": "#2e7d32",
    "failed": "#b00020",
    "aborted": "#555",
}


def recovering(lab: Any) -> int:
    """Runs of an earlier, crashed session ``lab`` is still recovering into its catalog.

    Args:
        lab: A lab; one without a ``recovering`` count (e.g. a remote lab) says 0.

    Returns:
        The count, 0 if the lab cannot say.
    """
    try:
        return int(getattr(lab, "recovering", 0) or 0)
    except Exception:  # a closed lab's storage, a remote lab's lost connection
        return 0


def recovering_text(count: int, where: str = "") -> str:
    """``"recovering 2 runs of an earlier session"`` (empty for 0).

    Args:
        count: Runs still being recovered.
        where: Words appended, e.g. ``" into the catalog"``.
    """
    if count <= 0:
        return ""
    runs = "1 run" if count == 1 else f"{count} runs"
    return f"recovering {runs} of an earlier session{where}"


def describe_interruption(interruption: Interruption) -> str:
    """The pause or suspension holding a run, in words.

    ``"suspended by interlock hood_1_face_velocity tripped: ..."`` for a
    suspension, ``"paused (checking the stirrer)"`` or ``"paused by the
    operator"`` for a pause.
    """
    reason = interruption.reason.strip()
    if interruption.kind == "suspend":
        if not reason:
            return "suspended"
        return reason if reason.startswith("suspended") else f"suspended by {reason}"
    if not reason:
        return "paused"
    return reason if reason.startswith("paused") else f"paused ({reason})"


def points_stream(start: dict[str, Any]) -> str:
    """The stream whose events are the points of the run that ``start`` opens.

    :data:`POINTS_STREAM` (``"primary"``), unless the start document names
    another as its ``monitor.stream`` (as
    :func:`~smartlab_kernel.plans.monitor_environment` does). Baseline
    readings, monitors and Bluesky's ``interruptions`` stream are never points.
    """
    monitor = start.get("monitor")
    stream = monitor.get("stream") if isinstance(monitor, dict) else None
    return stream if isinstance(stream, str) and stream else POINTS_STREAM


def estimate_time_left(points: int, total: int, at_last_point: float, active: float) -> float:
    """Seconds left of a run, from the mean active time per point so far.

    With ``m = at_last_point / points`` (active seconds per point, pauses and
    suspensions excluded, the set-up before the first point included) and
    ``s = active - at_last_point`` (active seconds into the current point),
    the estimate is ``(total - points - 1) * m + max(m - s, 0)``: the points
    still to come after the current one, plus what is left of the current
    one. It counts down one second per active second until the current point
    is due, then waits there (an overdue point is not "0 s left" while
    others remain).

    Properties (tested): it does not change while the run is held (the
    active time does not advance); in a steady run (every point takes the
    same active time after a set-up of any length) it never goes up, also
    across points; when a point takes ``d`` instead of ``m`` active seconds
    it goes up at that point by at most ``(total - points - 1) * (d - m) /
    (points + 1)``, i.e. by at most ``(d / m - 1) / 2`` of its value.

    Args:
        points: Points done (at least 1).
        total: Points the run will record.
        at_last_point: The run's active seconds when the last point arrived.
        active: The run's active seconds now (at least ``at_last_point``).

    Returns:
        Seconds left (0 once every point is done).

    Raises:
        ValueError: If ``points`` is not from 1 to ``total``, or a time is
            negative or ``active < at_last_point``.
    """
    if not 1 <= points <= total:
        raise ValueError(f"points must be from 1 to total ({total}), got {points!r}")
    if at_last_point < 0 or active < at_last_point:
        raise ValueError(
            "need 0 <= at_last_point <= active (active seconds), got "
            f"at_last_point={at_last_point!r}, active={active!r}"
        )
    if points == total:
        return 0.0
    per_point = at_last_point / points
    into_current = active - at_last_point
    return (total - points - 1) * per_point + max(per_point - into_current, 0.0)


@dataclass
class _Points:
    """The points of one lab run as this widget counted them from its documents."""

    count: int = 0
    #: The run's active seconds when its latest point arrived.
    at_last: float = 0.0
    #: Descriptor uids of the points' streams.
    descriptors: set[str] = field(default_factory=set)
    #: Stream of the points in the Bluesky run now open.
    stream: str = POINTS_STREAM


class RunControl(w.VBox):
    """Show the lab's current run and control it from the notebook.

    The plan name, its state in colour (idle / queued / running / paused /
    suspended / finished / failed / aborted), points done of expected,
    elapsed and estimated remaining time, and the last error in plain words.
    Abort asks for confirmation (and an optional reason) first.

    A pause or a suspension (e.g. a safety interlock) is said in words with
    its reason while it holds the run ("suspended by interlock
    hood_1_face_velocity tripped: ..."), and afterwards as how often and how
    long the run was held. The points are the events of the run's primary
    stream (see :func:`points_stream`), counted from the lab's documents:
    the ``interruptions`` stream's events, baseline readings and monitors are
    not points. The clock shows the run's active time: it stops while the
    run is held and goes on after. The time left is
    :func:`estimate_time_left`: the mean active time per point so far, times
    the points to come, counted down in active time; it stays put while the
    run is held and never goes up within a steady run. While the lab
    recovers runs of an earlier, crashed session into its catalog it says so
    ("recovering 2 runs of an earlier session").

    Run callbacks arrive on the RunEngine thread; they only ask for a
    refresh, which runs on the kernel's loop at most ``max_rate`` times a second.

    Args:
        lab: The lab whose runs to show.
        tick: Seconds between refreshes of the elapsed time while a run is active
            (and between looks at the lab's recovery count).
        max_rate: Most refreshes per second caused by run progress.

    Attributes:
        time_left: The estimated seconds left as shown, or ``None`` when unknown.
    """

    def __init__(self, lab: Lab, *, tick: float = 0.5, max_rate: float = 10.0) -> None:
        self.lab = lab
        self.run: Run | None = None
        self._loop = KernelLoop()
        self._throttle = Throttle(self._loop, self.refresh, max_rate)
        self._watched: set[int] = set()
        self._refusal = ""
        self._points: dict[int, _Points] = {}
        self._points_lock = threading.Lock()
        subscribe = getattr(lab, "subscribe", None)
        self._subscription: int | None = subscribe(self._document) if subscribe else None
        self._recovering_shown = 0
        self.time_left: float | None = None
        self.plan = w.HTML(layout=w.Layout(min_width="16em"))
        self.state = w.HTML()
        self.state.add_class("smartlab-run-state")
        self.progress = w.IntProgress(value=0, min=0, max=1, layout=w.Layout(width="14em"))
        self.counts = w.HTML()
        self.timing = w.HTML(layout=w.Layout(margin="0 0 0 1em"))
        self.timing.add_class("smartlab-run-timing")
        self.interruption = w.HTML()
        self.interruption.add_class("smartlab-run-interruption")
        self.recovery = w.HTML()
        self.recovery.add_class("smartlab-run-recovery")
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
                self.interruption,
                w.HBox([self.pause_button, self.resume_button, self.abort_button]),
                self.confirm_box,
                self.error,
                self.recovery,
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
        if (
            self.run is None
            or self.run.state in ACTIVE_STATES
            or self.shown_run() is not self.run
            or recovering(self.lab) != self._recovering_shown
        ):
            self.refresh()

    def refresh(self) -> None:
        """Update every field from the lab (call on the kernel thread)."""
        for each in list(self.lab.runs):
            if not each.done:
                self._watch(each)
        self._show_recovery()
        self.run = run = self.shown_run()
        state = run.state if run is not None else "idle"
        held = run.interruption if run is not None else None
        shown = "suspended" if state == "running" and held and held.kind == "suspend" else state
        colour = STATE_COLOURS.get(shown, "inherit")
        self.state.value = (
            f'<span class="smartlab-state-{shown}" style="color:{colour}"><b>{shown}</b></span>'
        )
        self.pause_button.disabled = state != "running"
        self.resume_button.disabled = state != "paused"
        self.abort_button.disabled = state not in ACTIVE_STATES
        if state not in ACTIVE_STATES:
            self.confirm_box.layout.display = "none"
        if run is None:
            self.error.value = _format.error(self._refusal)
            self.plan.value = "No plan submitted yet"
            self.progress.value, self.progress.max = 0, 1
            self.counts.value = self.timing.value = self.interruption.value = ""
            self.time_left = None
            return
        self.plan.value = f"Run #{run.number}: <b>{html.escape(run.plan_name)}</b>"
        points, at_last = self._counted(run)  # together: a point may land meanwhile
        total = run.expected_events
        if total and points > total:
            # The plan opened more runs than the one its count came from (a plan of
            # several scans; a campaign says its budget): the total is unknown, and so
            # is the time left.
            total = None
        self.progress.max = max(1, total or points or 1)
        self.progress.value = min(points, self.progress.max)
        self.progress.bar_style = {"finished": "success", "failed": "danger"}.get(state, "")
        self.counts.value = f"{points} / {total if total else '?'} points"
        active = run.active
        self.time_left = (
            self._time_left(run, points, at_last, total, active)
            if total and state in ACTIVE_STATES
            else None
        )
        held_s = max(0.0, run.elapsed - active)
        timing = f"elapsed {_format.duration(active)}"
        if held_s >= 0.5:
            timing += f" (+ {_format.duration(held_s)} held)"
        if self.time_left is not None:
            if self.time_left > 0:
                timing += f", about {_format.duration(self.time_left)} left"
            elif total and points >= total:
                timing += ", every point done, finishing"
            else:
                timing += ", taking longer than estimated"
        self.timing.value = timing
        self.interruption.value = self._interruption_html(run, held)
        self.error.value = _format.error(self._refusal or self._run_error(run))

    def points(self, run: Run) -> int:
        """Points of ``run`` done: the events of its primary stream (see :func:`points_stream`).

        Counted from the lab's documents for a run this widget saw start;
        for one already going when the widget was made, the lab's own event
        count (``run.events``).
        """
        return self._counted(run)[0]

    def _counted(self, run: Run) -> tuple[int, float | None]:
        """Points of ``run`` done and its active seconds at the last one, read in one go.

        The active seconds are ``None`` for a run this widget did not count.
        """
        with self._points_lock:
            counted = self._points.get(id(run))
            if counted is None:
                return run.events, None
            return counted.count, counted.at_last

    def _document(self, name: str, doc: dict[str, Any]) -> None:
        """Count the current run's points (on the RunEngine thread)."""
        run = self.lab.current
        if run is None:
            return
        with self._points_lock:
            counted = self._points.get(id(run))
            if name == "start":
                if counted is None:
                    if len(run.uids) > 1 or run.events:
                        return  # already going when the widget came: the lab's count
                    counted = self._points[id(run)] = _Points()
                counted.stream = points_stream(doc)
            elif counted is None:
                return
            elif name == "descriptor":
                if doc.get("name") == counted.stream:
                    counted.descriptors.add(str(doc.get("uid")))
            elif name in ("event", "event_page") and doc.get("descriptor") in counted.descriptors:
                counted.count += 1 if name == "event" else len(doc.get("seq_num", ()))
                counted.at_last = run.active
            else:
                return
        self._throttle.request()

    @staticmethod
    def _time_left(
        run: Run, points: int, at_last: float | None, total: int, active: float
    ) -> float | None:
        """:func:`estimate_time_left` for ``run`` (``None`` before its first point).

        ``points`` and ``at_last`` must come from one :meth:`_counted` read: a
        point that lands between two reads would pair the old count with the
        new point's time and make the estimate jump up.
        """
        if points < 1:
            return None
        if at_last is None:  # not counted here: the lab's estimate
            return run.remaining
        return estimate_time_left(points, total, at_last, max(active, at_last))

    @staticmethod
    def _interruption_html(run: Run, held: Interruption | None) -> str:
        """What holds the run now, else how often and how long it was held (empty if never)."""
        if held is not None:
            then = (
                "it goes on by itself when that clears"
                if held.kind == "suspend"
                else "press Resume to go on"
            )
            so_far = _format.duration(held.duration)
            text = f"{describe_interruption(held)}, for {so_far} so far; {then}"
            colour = STATE_COLOURS["suspended" if held.kind == "suspend" else "paused"]
            return (
                f'<span class="smartlab-interrupted" style="color:{colour}">'
                f"<b>{html.escape(text)}</b></span>"
            )
        past = list(run.interruptions)
        if not past:
            return ""
        times = "1 time" if len(past) == 1 else f"{len(past)} times"
        total = sum(entry.duration for entry in past)
        each = "; ".join(entry.describe() for entry in past[-3:])
        if len(past) > 3:
            each = f"the last 3: {each}"
        return _format.note(f"interrupted {times}, held {_format.duration(total)} in all: {each}")

    def _show_recovery(self) -> None:
        count = recovering(self.lab)
        self._recovering_shown = count
        text = recovering_text(count, " into the catalog")
        self.recovery.value = _format.note(text + "; lab.wait() waits for it") if text else ""

    @staticmethod
    def _run_error(run: Run) -> str:
        if run.state == "failed":
            message = _format.exception(run.error) if run.error else run.reason
            return f"Run #{run.number} failed: {message}"
        if run.state == "aborted":
            return f"Run #{run.number} aborted: {run.reason}"
        return ""

    def close(self) -> None:
        """Stop refreshing and following the lab's documents, and close the widget."""
        self._stop_ticks()
        if self._subscription is not None:
            self.lab.unsubscribe(self._subscription)
            self._subscription = None
        super().close()


__all__ = [
    "POINTS_STREAM",
    "STATE_COLOURS",
    "RunControl",
    "describe_interruption",
    "estimate_time_left",
    "points_stream",
    "recovering",
    "recovering_text",
]

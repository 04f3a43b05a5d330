"""PlannerReview: review the planner's suggestions, edit, accept or reject them."""

from __future__ import annotations

import datetime
import html
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import ipywidgets as w
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from smartlab_kernel.planner import Categorical, Integer, Planner, Real, Suggestion

from . import _figure, _format
from .marshal import KernelLoop, Throttle

if TYPE_CHECKING:
    from smartlab_kernel.session import Lab

AcceptCallback = Callable[[dict[str, Any], Suggestion], Any]


#: An id on one line, cut with an ellipsis when longer than :data:`ID_WIDTH`.
NO_WRAP = (
    "display:inline-block;max-width:100%;white-space:nowrap;overflow:hidden;"
    "text-overflow:ellipsis;vertical-align:middle"
)
ID_WIDTH = "9em"
#: Said in place of the plots before the planner has an observation.
NO_DATA = "no data yet: the plots appear once an experiment has been observed"
#: Text colour of a rejected suggestion's row (greyed: kept in view, not decidable).
REJECTED_COLOUR = "#9e9e9e"
#: Rejected suggestions shown at most (the latest; all are in ``planner.decisions``).
MAX_REJECTED = 20


def _show(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


@dataclass
class Accepted:
    """A suggestion the user accepted: what ran and what ``on_accept`` returned.

    Attributes:
        suggestion: The planner's suggestion.
        params: The parameters accepted (edited or not).
        handle: What ``on_accept`` returned (e.g. a :class:`~smartlab_kernel.session.Run`).
        by: Who accepted it (the review's ``user``), if known.
    """

    suggestion: Suggestion
    params: dict[str, Any]
    handle: Any = None
    by: str | None = None

    @property
    def edited(self) -> bool:
        """True if any accepted value differs from the suggestion."""
        return self.params != dict(self.suggestion.params)


@dataclass(frozen=True)
class Hold:
    """Why a suggestion is locked: a run on the lab that is still going holds it.

    Attributes:
        run_number: The lab's run (``Run.number``) holding it.
        text: What the row says, e.g. ``"running as experiment 3 of 8 (run #5)"``.
    """

    run_number: int
    text: str


@dataclass(frozen=True)
class Rejection:
    """A rejected suggestion, kept in the review's table greyed with why and by whom.

    Attributes:
        suggestion_id: The suggestion's id.
        params: The parameters it suggested.
        reason: Why it was rejected.
        by: Who rejected it, when recorded.
        time: When it was rejected, when recorded.
        predicted: The model's prediction when it was suggested, in words.
        why_suggested: The planner's reason for suggesting it.
    """

    suggestion_id: str
    params: dict[str, Any]
    reason: str
    by: str | None = None
    time: pd.Timestamp | None = None
    predicted: str = ""
    why_suggested: str = ""

    def text(self) -> str:
        """``"rejected by alice, 2026-12-04 23:39 UTC: too hot"`` (who and when if known)."""
        who = f" by {self.by}" if self.by else ""
        when = f", {self.time.strftime('%Y-%m-%d %H:%M %Z').strip()}" if self.time else ""
        return f"rejected{who}{when}: {self.reason or 'no reason given'}"

    def widgets(self) -> list[w.Widget]:
        """The row's cells in the table's order, greyed (class ``smartlab-rejected-row``)."""
        grey = f"color:{REJECTED_COLOUR}"
        sid = html.escape(self.suggestion_id)
        cells = [
            f"<span class='smartlab-rejected-status' style='{grey}'>"
            f"<i>{html.escape(self.text())}</i></span>",
            f"<code title='{sid}' style='{NO_WRAP};{grey}'>{sid}</code>",
            *(
                f"<span style='{grey}'>{html.escape(_show(value))}</span>"
                for value in self.params.values()
            ),
            f"<span style='white-space:nowrap;{grey}'>{html.escape(self.predicted)}</span>",
            f"<small style='{grey}'>{html.escape(self.why_suggested)}</small>",
        ]
        made = []
        for index, cell in enumerate(cells):
            layout = w.Layout(max_width=ID_WIDTH) if index == 1 else w.Layout()
            widget = w.HTML(cell, layout=layout)
            widget.add_class("smartlab-rejected-row")
            if index == 1:
                widget.add_class("smartlab-suggestion-id")
            made.append(widget)
        return made


class SuggestionRow:
    """The editable cells and buttons of one suggestion in the table."""

    def __init__(self, review: PlannerReview, suggestion: Suggestion) -> None:
        self.suggestion = suggestion
        self.cells: dict[str, w.Text] = {}
        for name, value in suggestion.params.items():
            cell = w.Text(value=_show(value), layout=w.Layout(width="8em"))
            cell.add_class(f"smartlab-cell-{name}")
            self.cells[name] = cell
        self.accept_button = w.Button(
            description="Accept", button_style="success", layout=w.Layout(width="6em")
        )
        self.accept_button.add_class("smartlab-accept")
        self.reject_button = w.Button(description="Reject", layout=w.Layout(width="6em"))
        self.reject_button.add_class("smartlab-reject")
        self.reason = w.Text(placeholder="reason to reject", layout=w.Layout(width="11em"))
        #: Says why the row is locked (empty while it is not).
        self.status = w.HTML()
        self.status.add_class("smartlab-row-status")
        self.hold: Hold | None = None
        self.accept_button.on_click(lambda _: review.accept(suggestion.id))
        self.reject_button.on_click(lambda _: review.reject(suggestion.id, self.reason.value))

    def widgets(self, objectives: list[str]) -> list[w.Widget]:
        """The row's cells in table order: the actions first, then id, values, why.

        Accept and Reject (with the reason to reject, and what locks the row)
        come first, so that they are on screen however wide the values make
        the row; the id stays on one line, cut with an ellipsis (the whole id
        on hover).
        """
        predicted = self.suggestion.predicted
        if predicted:
            text = ", ".join(
                f"{predicted[o][0]:.3g} ± {predicted[o][1]:.2g}"
                for o in objectives
                if o in predicted
            )
        else:
            text = "n/a (initial design)"
        sid = html.escape(self.suggestion.id)
        ident = w.HTML(
            f"<code title='{sid}' style='{NO_WRAP}'>{sid}</code>",
            layout=w.Layout(max_width=ID_WIDTH),
        )
        ident.add_class("smartlab-suggestion-id")
        actions = w.VBox(
            [
                w.HBox(
                    [self.accept_button, self.reject_button, self.reason],
                    layout=w.Layout(overflow="visible", align_items="center"),
                ),
                self.status,
            ],
            layout=w.Layout(overflow="visible"),
        )
        actions.add_class("smartlab-row-actions")
        return [
            actions,
            ident,
            *self.cells.values(),
            w.HTML(f"<span style='white-space:nowrap'>{html.escape(text)}</span>"),
            w.HTML(
                f"<small>{html.escape(self.suggestion.reason)}</small>",
                layout=w.Layout(min_width="12em"),
            ),
        ]

    def lock(self, hold: Hold | None) -> None:
        """Lock the row (cells and buttons disabled, ``hold`` said) or, with None, unlock it."""
        if hold == self.hold:
            return
        self.hold = hold
        for widget in (*self.cells.values(), self.accept_button, self.reject_button, self.reason):
            widget.disabled = hold is not None
        self.status.value = _format.note(hold.text) if hold else ""


class PlannerReview(w.VBox):
    """The planner's open suggestions in an editable table, for a human to decide.

    Each suggestion shows its parameters (editable), the model's predicted mean
    ± std, and why it was chosen. **Accept** checks the (edited) values with the
    planner's own validation and, only if they pass, calls
    ``on_accept(params, suggestion)``, which typically submits the recipe to the
    lab; :meth:`record_outcome` then records the outcome as accepted or edited.
    **Reject** needs a reason and calls ``planner.reject``. A rejected
    suggestion stays in the table, greyed, with its reason and who rejected
    it when (the latest :data:`MAX_REJECTED`, from ``planner.decisions``).
    Every decision taken here records ``by=user`` in the planner. Below:
    best-so-far and the model's prediction along a chosen parameter, and what
    was suggested versus what ran.

    With ``lab``, a suggestion that a run on the lab holds is locked: its
    row says so (``"running as experiment 3 of 8 (run #5)"``) and accept,
    edit and reject are refused until that run ends, because the run (a
    campaign) tells the planner the outcome itself. A run holds a suggestion
    whose experiment it has started (its start document names the
    suggestion), and any suggestion the planner made while the run was
    going that this widget did not ask for: a campaign's next experiments,
    also while its own reviewer decides on them. When the run ends, what it
    left open can be decided here again.

    Args:
        planner: The planner to review.
        on_accept: Called with ``(params, suggestion)`` for each accepted
            suggestion; what it returns is kept (a ``Run`` is followed live).
        suggest_batch: Suggestions asked for by the **Suggest** button.
        lab: The lab whose runs (campaigns) may hold suggestions of ``planner``.
        user: Who decides here, recorded as ``by`` with each decision; default
            the lab's operator (``lab.operator``) when a lab is given, else
            nobody (decisions then record no ``by``).

    Raises:
        ValueError: If ``user`` is given and is not a non-empty string.
    """

    def __init__(
        self,
        planner: Planner,
        on_accept: AcceptCallback | None = None,
        *,
        suggest_batch: int = 2,
        lab: Lab | None = None,
        user: str | None = None,
    ) -> None:
        if user is not None and (not isinstance(user, str) or not user.strip()):
            raise ValueError(
                f"user must be a non-empty name (who decides, recorded as by=), got {user!r}"
            )
        if user is None and lab is not None:
            operator = getattr(lab, "operator", None)
            user = operator if isinstance(operator, str) and operator.strip() else None
        #: Who decides here (``by`` of each decision), or ``None``.
        self.user: str | None = user.strip() if user is not None else None
        self.planner = planner
        self.on_accept = on_accept
        self.lab = lab
        self.accepted: dict[str, Accepted] = {}
        self.rows: dict[str, SuggestionRow] = {}
        # Suggestions asked for here, when each suggestion was made (epoch s), and
        # which run started which suggestion's experiment: (run, experiment, budget).
        self._asked: set[str] = set()
        self._made: dict[str, float] = {}
        self._started: dict[str, tuple[int, Any, Any]] = {}
        self._started_lock = threading.Lock()
        self._subscription = lab.subscribe(self._document) if lab is not None else None
        self._loop = KernelLoop()
        self._throttle = Throttle(self._loop, self.refresh, 4.0)
        self._objectives = [o.name for o in planner.objectives]
        self._plotted: tuple[Any, ...] | None = None
        self._shown: tuple[list[str], list[str]] | None = None
        self.rejections: list[Rejection] = []
        self._note = ""
        self.batch = w.BoundedIntText(
            value=suggest_batch,
            min=1,
            max=50,
            description="n",
            layout=w.Layout(width="9em"),
            style={"description_width": "1.5em"},
        )
        self.suggest_button = w.Button(description="Suggest", icon="lightbulb-o")
        self.suggest_button.add_class("smartlab-suggest")
        self.suggest_button.on_click(lambda _: self.suggest())
        self.accept_all_button = w.Button(description="Accept all", button_style="success")
        self.accept_all_button.add_class("smartlab-accept-all")
        self.accept_all_button.on_click(lambda _: self.accept_all())
        self.message = w.HTML()
        self.message.add_class("smartlab-planner-message")
        self.table = w.GridBox(layout=w.Layout(grid_gap="2px 8px", align_items="center"))
        self.table.add_class("smartlab-suggestions")
        self.executed = w.HTML()
        self.executed.add_class("smartlab-executed")
        numeric = [p.name for p in planner.space.parameters if isinstance(p, Real | Integer)]
        self.along = w.Dropdown(options=numeric, description="along", layout=w.Layout(width="16em"))
        self.along.observe(lambda _: self.refresh_plot(force=True), names="value")
        self.plot = w.Image(format="png", layout=w.Layout(max_width="900px"))
        self.plot_note = w.HTML()
        super().__init__(
            [
                w.HTML("<b>Planner suggestions</b>"),
                w.HBox([self.batch, self.suggest_button, self.accept_all_button]),
                self.table,
                self.message,
                w.HTML("<b>Suggested vs executed</b>"),
                self.executed,
                w.HBox([self.along, self.plot_note]),
                self.plot,
            ]
        )
        self.add_class("smartlab-planner-review")
        self.refresh()

    # -- decisions ------------------------------------------------------------

    def edited_params(self, suggestion_id: str) -> dict[str, Any]:
        """The parameters in the row's cells, checked by the planner.

        Unchanged cells keep the suggestion's exact value; edited ones are
        read as the parameter's type.

        Raises:
            ValueError, TypeError: The planner's validation errors (name, value, allowed range).
        """
        row = self.rows[suggestion_id]
        params: dict[str, Any] = {}
        for name, cell in row.cells.items():
            original = row.suggestion.params[name]
            text = cell.value.strip()
            params[name] = original if text == _show(original) else self._read(name, text)
        return dict(self.planner.space.validate(params))

    def _read(self, name: str, text: str) -> Any:
        parameter = self.planner.space.by_name[name]
        if isinstance(parameter, Categorical):
            for choice in parameter.choices:
                if str(choice) == text:
                    return choice
            return text
        try:
            number = float(text)
        except ValueError:
            return text
        if isinstance(parameter, Integer) and number.is_integer():
            return int(number)
        return number

    def hold(self, suggestion_id: str) -> Hold | None:
        """The run on the lab that holds the suggestion now, if any (see the class doc)."""
        if self.lab is None:
            return None
        run = self.lab.current
        if run is None or run.done or run.started is None:
            return None
        with self._started_lock:
            started = self._started.get(suggestion_id)
        if started is not None and started[0] == run.number:
            _, experiment, budget = started
            of = f" of {budget}" if budget is not None else ""
            return Hold(run.number, f"running as experiment {experiment}{of} (run #{run.number})")
        if suggestion_id in self._asked:
            return None
        made = self._made_at(suggestion_id)
        if made is None or made < run.started:
            return None
        return Hold(
            run.number,
            f"proposed while run #{run.number} ({run.plan_name}) runs: locked until it ends",
        )

    def _made_at(self, suggestion_id: str) -> float | None:
        if suggestion_id not in self._made:
            for record in self.planner.history:
                if record["event"] == "suggest" and record.get("id") not in self._made:
                    made = datetime.datetime.fromisoformat(str(record["time"]))
                    self._made[str(record["id"])] = made.timestamp()
        return self._made.get(suggestion_id)

    def _refuse_held(self, suggestion_id: str, what: str) -> bool:
        """Show why a held suggestion cannot be decided here; True if it is held."""
        hold = self.hold(suggestion_id)
        if hold is None:
            return False
        self._error(
            f"{suggestion_id} not {what}: run #{hold.run_number} holds it ({hold.text}) and "
            "tells the planner its outcome; decide it here once that run ends"
        )
        self.refresh()
        return True

    def _document(self, name: str, doc: dict[str, Any]) -> None:
        """Note which suggestion's experiment a run starts (RunEngine thread)."""
        if name != "start" or self.lab is None:
            return
        suggestion = doc.get("suggestion")
        run = self.lab.current
        if not isinstance(suggestion, dict) or run is None:
            return
        sid = suggestion.get("id")
        with self._started_lock:
            self._started[str(sid)] = (
                run.number,
                doc.get("campaign_experiment"),
                doc.get("campaign_budget"),
            )
        if self._loop.running:  # else no kernel to hand the redraw to; refresh() shows it
            self._throttle.request()

    def accept(self, suggestion_id: str) -> bool:
        """Accept one suggestion (with its edits); False, with the error shown, if refused.

        Refused also when a run on the lab holds the suggestion (see :meth:`hold`).
        """
        if self._refuse_held(suggestion_id, "accepted"):
            return False
        try:
            params = self.edited_params(suggestion_id)
        except (ValueError, TypeError) as exc:
            self._error(f"{suggestion_id} not accepted: {_format.exception(exc)}")
            return False
        accepted = self._accept(suggestion_id, params)
        self.refresh()
        return accepted

    def accept_all(self) -> bool:
        """Accept every suggestion shown, or none if any row has a bad value.

        Rows that a run on the lab holds (locked rows) are left as they are.
        """
        checked: dict[str, dict[str, Any]] = {}
        problems = []
        held = [sid for sid in self.rows if self.hold(sid) is not None]
        for sid in [s for s in self.rows if s not in held]:
            try:
                checked[sid] = self.edited_params(sid)
            except (ValueError, TypeError) as exc:
                problems.append(f"{sid}: {_format.exception(exc)}")
        if problems:
            self._error("nothing accepted: " + "; ".join(problems))
            return False
        if not checked:
            if held:
                self._error(
                    f"nothing to accept: {', '.join(held)} held by a running campaign; "
                    "press Suggest for suggestions of your own"
                )
            else:
                self._error("no suggestions to accept: press Suggest first")
            self.refresh()
            return False
        ok = all([self._accept(sid, params) for sid, params in checked.items()])
        if held and ok:
            self.message.value = _format.note(
                f"accepted {', '.join(checked)}; "
                f"left {', '.join(held)} (held by a running campaign)"
            )
        self.refresh()
        return ok

    def _accept(self, suggestion_id: str, params: dict[str, Any]) -> bool:
        suggestion = self.rows[suggestion_id].suggestion
        handle = None
        if self.on_accept is not None:
            try:
                handle = self.on_accept(params, suggestion)
            except Exception as exc:
                self._error(
                    f"{suggestion_id}: on_accept raised {type(exc).__name__}: "
                    f"{_format.exception(exc)}"
                )
                return False
        self.accepted[suggestion_id] = Accepted(suggestion, params, handle, self.user)
        if handle is not None and callable(getattr(handle, "on_change", None)):
            handle.on_change(lambda _run: self._throttle.request())
        edited = " (edited)" if self.accepted[suggestion_id].edited else ""
        self.message.value = _format.note(f"accepted {suggestion_id}{edited}")
        return True

    def reject(self, suggestion_id: str, reason: str) -> bool:
        """Reject a suggestion with a reason (required); False, with the error shown, if refused.

        Refused also when a run on the lab holds the suggestion (see :meth:`hold`).
        """
        if self._refuse_held(suggestion_id, "rejected"):
            return False
        if not reason or not reason.strip():
            self._error(
                f"{suggestion_id} not rejected: give a reason (it is kept with the decision)"
            )
            return False
        try:
            self.planner.reject(suggestion_id, reason=reason.strip(), by=self.user)
        except (ValueError, TypeError) as exc:
            self._error(f"{suggestion_id} not rejected: {_format.exception(exc)}")
            return False
        self.message.value = _format.note(f"rejected {suggestion_id}: {reason.strip()}")
        self.refresh()
        return True

    def record_outcome(self, suggestion_id: str, outcomes: Mapping[str, float]) -> dict[str, Any]:
        """Record the outcome of a suggestion accepted here, as it ran and by whom.

        Calls ``planner.observe(params, outcomes, suggestion=..., by=...)`` with
        the accepted (perhaps edited) values, so the planner records an
        ``accept`` or an ``edit`` decided by the one who accepted it.

        Args:
            suggestion_id: The id of a suggestion accepted in this review.
            outcomes: ``{objective name: value}`` for every objective.

        Returns:
            The planner's record.

        Raises:
            KeyError: If the suggestion was not accepted in this review.
        """
        item = self.accepted.get(suggestion_id)
        if item is None:
            raise KeyError(
                f"{suggestion_id!r} was not accepted in this review; accepted here: "
                f"{sorted(self.accepted) or 'none'}"
            )
        record = self.planner.observe(item.params, outcomes, suggestion=item.suggestion, by=item.by)
        self.refresh()
        return record

    def suggest(self, n: int | None = None) -> Future[list[Suggestion]]:
        """Ask the planner for ``n`` suggestions on its worker thread; shown when ready."""
        count = int(n if n is not None else self.batch.value)
        self.suggest_button.disabled = True
        self.message.value = _format.note(f"computing {count} suggestion(s)...")
        future = self.planner.suggest_async(count)
        future.add_done_callback(self._note_asked)  # first, on the worker: not locked
        future.add_done_callback(lambda f: self._loop.call(self._suggested, f))
        return future

    def _note_asked(self, future: Future[list[Suggestion]]) -> None:
        if future.exception() is None:
            self._asked.update(s.id for s in future.result())

    def _suggested(self, future: Future[list[Suggestion]]) -> None:
        error = future.exception()
        if error is not None:
            self._error(f"the planner could not suggest: {_format.exception(error)}")
        else:
            self.message.value = _format.note(f"{len(future.result())} new suggestion(s)")
        self.refresh()
        self.suggest_button.disabled = False

    def _error(self, message: str) -> None:
        self.message.value = _format.error(message)

    def close(self) -> None:
        """Stop following the lab's runs, then close the widget."""
        if self.lab is not None and self._subscription is not None:
            self.lab.unsubscribe(self._subscription)
            self._subscription = None
        super().close()

    # -- display --------------------------------------------------------------

    def refresh(self) -> None:
        """Re-read the planner: open suggestions, decisions, plot (kernel thread)."""
        pending = [s for s in self.planner.pending if s.id not in self.accepted]
        rejections = self._rejections()
        shown = ([s.id for s in pending], [r.suggestion_id for r in rejections])
        if shown != self._shown:
            self._shown = shown
            self.rejections = rejections
            old = self.rows
            self.rows = {s.id: old.get(s.id) or SuggestionRow(self, s) for s in pending}
            names = self.planner.space.names
            header = ["", "id", *names, "predicted " + ", ".join(self._objectives), "reason"]
            cells: list[w.Widget] = [
                w.HTML(f"<b style='white-space:nowrap'>{html.escape(_figure.label(h))}</b>")
                if h in names
                else w.HTML(f"<b>{html.escape(h)}</b>")
                for h in header
            ]
            for row in self.rows.values():
                cells += row.widgets(self._objectives)
            if not self.rows:
                note = w.HTML("<i>no open suggestions: press Suggest</i>")
                # Alone, or on a row of its own above the rejected ones.
                cells = (
                    [note] if not rejections else [*cells, note, *(w.HTML() for _ in header[1:])]
                )
            for rejection in rejections:
                cells += rejection.widgets()
            self.table.children = cells
            self.table.layout.grid_template_columns = (
                f"repeat({len(header)}, auto)" if self.rows or rejections else "auto"
            )
        for sid, row in self.rows.items():
            row.lock(self.hold(sid))
        self.accept_all_button.disabled = all(row.hold is not None for row in self.rows.values())
        self.executed.value = self._executed_html()
        self.refresh_plot()

    def _rejections(self) -> list[Rejection]:
        """The latest :data:`MAX_REJECTED` rejected suggestions, newest last."""
        decisions = self.planner.decisions
        rejected = decisions[decisions["decision"] == "reject"].tail(MAX_REJECTED)
        if rejected.empty:
            return []
        why = {
            str(r["id"]): str(r.get("reason") or "")
            for r in self.planner.history
            if r["event"] == "suggest"
        }
        names = self.planner.space.names
        found = []
        for _, row in rejected.iterrows():
            predicted = ", ".join(
                f"{row[f'predicted.{o}']:.3g} ± {row[f'predicted_std.{o}']:.2g}"
                for o in self._objectives
                if pd.notna(row[f"predicted.{o}"])
            )
            sid = str(row["suggestion_id"])
            time = row["time"]
            found.append(
                Rejection(
                    suggestion_id=sid,
                    params={n: row[f"suggested.{n}"] for n in names},
                    reason=str(row["reason"] or ""),
                    by=row["by"] if isinstance(row["by"], str) else None,
                    time=time if isinstance(time, pd.Timestamp) and pd.notna(time) else None,
                    predicted=predicted or "n/a (initial design)",
                    why_suggested=why.get(sid, ""),
                )
            )
        return found

    def _executed_html(self) -> str:
        names = self.planner.space.names
        decided: dict[str, dict[str, Any]] = {}
        for record in self.planner.history:
            if record["event"] in ("observe", "fail", "reject") and record.get("suggestion_id"):
                decided[record["suggestion_id"]] = record
        head = "".join(
            f"<th>{html.escape(_figure.label(n) if n in names else n)}</th>"
            for n in ["id", *names, "outcome", "status"]
        )
        rows = []
        for sid, item in self.accepted.items():
            state = getattr(item.handle, "state", None)
            if sid not in decided:
                status = f"accepted, run {state}" if state else "accepted"
                outcome = ""
            else:
                record = decided[sid]
                status = record["decision"]
                outcome = ", ".join(
                    f"{k} {v:.4g}" for k, v in (record.get("outcomes") or {}).items()
                )
                outcome = outcome or html.escape(record.get("reason", ""))
            cells = []
            for name in names:
                suggested, executed = item.suggestion.params[name], item.params[name]
                if suggested != executed:
                    cells.append(f"<td><s>{_show(suggested)}</s> <b>{_show(executed)}</b></td>")
                else:
                    cells.append(f"<td>{_show(executed)}</td>")
            rows.append(
                f"<tr><td><code>{html.escape(sid)}</code></td>{''.join(cells)}"
                f"<td>{outcome}</td><td class='smartlab-status'>{html.escape(status)}</td></tr>"
            )
        if not rows:
            return "<i>nothing accepted yet</i>"
        return f"<table class='smartlab-table'><tr>{head}</tr>{''.join(rows)}</table>"

    def refresh_plot(self, force: bool = False) -> None:
        """Redraw best-so-far and the prediction along the chosen parameter if data changed.

        Before the planner has any observation there is nothing to draw: the
        plot is hidden and :data:`NO_DATA` is said instead of empty axes.
        """
        observations = self.planner.observations
        key = (len(observations), self.along.value)
        if not force and key == self._plotted:
            return
        self._plotted = key
        objective = self.planner.objectives[0]
        values: np.ndarray = observations[objective.name].to_numpy(dtype=float)
        if not np.isfinite(values).any():
            self.plot.layout.display = "none"
            self.plot_note.value = _format.note(NO_DATA)
            return
        self.plot.layout.display = None
        drawn = self.figure()
        self.plot_note.value = _format.note(self._note) if self._note else ""
        self.plot.value = _figure.to_png(drawn)

    def figure(self) -> Figure:
        """Best-so-far (left) and the model's prediction along ``along`` (right), as drawn.

        Returns:
            The matplotlib figure (experiments counted in whole numbers; axes
            labelled in words with units).
        """
        observations = self.planner.observations
        objective = self.planner.objectives[0]
        values: np.ndarray = observations[objective.name].to_numpy(dtype=float)
        prediction, note = self._prediction(observations)
        self._note = note
        along = str(self.along.value)

        def draw(axes: list[Axes]) -> None:
            left, right = axes
            steps = np.arange(1, len(values) + 1)
            ok = np.isfinite(values)
            signed = np.where(ok, objective.sign * np.asarray(values), -np.inf)
            best = objective.sign * np.maximum.accumulate(signed)
            left.plot(steps[ok], np.asarray(values)[ok], "o", color="#999", label="observed")
            left.step(
                steps,
                np.where(np.isfinite(best), best, np.nan),
                where="post",
                color="#1f77b4",
                label="best so far",
            )
            left.legend(loc="best")
            left.set_xlabel("Experiment")
            _figure.integer_ticks(left, "x", count=len(values))
            left.set_ylabel(_figure.label(objective.name))
            left.set_title("Best so far")
            if prediction is None:
                _figure.no_data(right, note or "no model prediction yet")
                return
            grid, mean, std = prediction
            right.plot(grid, mean, color="#d62728", label="model mean")
            right.fill_between(
                grid, mean - std, mean + std, color="#d62728", alpha=0.2, label="± 1 std"
            )
            right.plot(observations[along], values, "o", color="#999", label="observed")
            right.legend(loc="best")
            right.set_xlabel(_figure.label(along))
            right.set_ylabel(_figure.label(objective.name))
            right.set_title("Model prediction (others at best)")

        return _figure.figure(draw, columns=2)

    def _prediction(
        self, observations: pd.DataFrame
    ) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray] | None, str]:
        name = self.along.value
        if name is None:
            return None, "no numeric parameter to plot along"
        if observations[self.planner.objectives[0].name].notna().sum() < 2:
            return None, "the model prediction needs two observations"
        parameter = self.planner.space.by_name[name]
        assert isinstance(parameter, Real | Integer)
        grid = np.linspace(parameter.low, parameter.high, 60)
        if isinstance(parameter, Integer):
            grid = np.unique(np.round(grid)).astype(int)
        base = dict(self.planner.best()["params"])
        frame = pd.DataFrame([{**base, name: value} for value in grid])
        try:
            predicted = self.planner.predict(frame)
        except (ValueError, TypeError) as exc:
            return None, f"no prediction: {_format.exception(exc)}"
        objective = self.planner.objectives[0].name
        return (
            grid.astype(float),
            predicted[f"{objective}_mean"].to_numpy(),
            predicted[f"{objective}_std"].to_numpy(),
        ), ""


__all__ = [
    "MAX_REJECTED",
    "REJECTED_COLOUR",
    "Accepted",
    "Hold",
    "PlannerReview",
    "Rejection",
    "SuggestionRow",
]

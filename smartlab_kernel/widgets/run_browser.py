"""RunBrowser: search stored runs, open one, export a selection to CSV or Parquet."""

from __future__ import annotations

import datetime as dt
import html
import itertools
import json
import math
import pathlib
import re
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anywidget
import ipywidgets as w
import numpy as np
import pandas as pd
import traitlets as t
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from tiled.queries import Contains, Key

from smartlab_kernel.campaign.stored_runs import OBJECTIVE_FIELD

from . import _figure, _format
from .marshal import KernelLoop, Throttle
from .run_control import recovering, recovering_text

STATUSES = ("any", "success", "abort", "fail")
METADATA_COLUMNS = (
    "plan_name",
    "scan_id",
    "campaign_id",
    "operator",
    "sample_ids",
    "suggestion_id",
)
#: The summary the session appends to a stop document's reason ("interrupted 2 times: ...").
_INTERRUPTED = re.compile(r"\binterrupted (\d+) times?\b")
#: Shown for a run without a stop document while the lab recovers an earlier session.
BEING_RECOVERED = "being recovered"
#: The table's columns: (key, header), in order.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("time", "Time"),
    ("plan", "Plan"),
    ("campaign", "Campaign"),
    ("status", "Status"),
    ("outcome", "Outcome"),
    ("sample", "Sample"),
    ("interrupted", "Interrupted"),
)
#: Columns sorted largest (or newest) first on their first click.
DESCENDING_FIRST = frozenset({"time", "outcome", "interrupted"})
#: Most runs overlaid in the plot of a multi-run selection.
MAX_OVERLAID = 10
#: One thread reads outcomes for every RunBrowser, one run at a time: a notebook
#: with several browsers does not hit the catalog server with parallel reads.
_OUTCOME_READER = ThreadPoolExecutor(1, thread_name_prefix="smartlab-run-outcomes")


def interruption_count(stop: Mapping[str, Any] | None) -> int:
    """How many times a stored run was paused or suspended, from its stop document.

    The session's summary in the reason ("interrupted 2 times: ...") says it;
    without one, each interruption is a pair of events (pause or suspend, then
    resume) in the run's ``interruptions`` stream, and an unpaired last one is
    the pause an abort ended the run in, which the session does not count either.

    Args:
        stop: The run's stop document, or ``None`` if it has none (yet).

    Returns:
        The count, 0 for a run never interrupted or without a stop document.
    """
    if not stop:
        return 0
    said = _INTERRUPTED.findall(str(stop.get("reason") or ""))
    if said:
        return int(said[-1])
    events = (stop.get("num_events") or {}).get("interruptions", 0)
    return events // 2 if isinstance(events, int) and not isinstance(events, bool) else 0


def _objective_field(start: Mapping[str, Any]) -> str:
    """The event field holding a run's outcome."""
    return str(start.get("objective_field") or OBJECTIVE_FIELD)


def _plain(value: Any) -> str:
    """A metadata value as people read it: text unquoted, lists joined, the rest as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple) and all(isinstance(v, str | int | float) for v in value):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_plain(v)}" for k, v in value.items())
    if isinstance(value, float):
        return f"{value:.6g}"
    return json.dumps(value, default=str)


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "?"
    return dt.datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M:%S")


class RunTable(anywidget.AnyWidget):
    """The found runs as a table: click a header to sort, click rows to select.

    A plain click selects one run; Ctrl (or Cmd) click adds or removes one,
    Shift click selects a range; each row's checkbox adds or removes it too.
    Sorting is done in Python (:meth:`RunBrowser.sort`): a header click sends
    ``{"type": "sort", "column": key}``. An interrupted run's row is flagged
    (class ``smartlab-run-interrupted``, an amber edge and badge).

    Attributes:
        columns: ``{"key", "label"}`` per column, in order.
        rows: One per run, in the order shown: ``{"uid", "cells": {key: text},
            "status", "interrupted"}``.
        sort_by: The key of the column sorted on.
        descending: True when sorted largest (newest) first.
        value: The selected runs' uids.
    """

    _esm = pathlib.Path(__file__).parent / "run_browser.js"
    _css = pathlib.Path(__file__).parent / "run_browser.css"

    columns = t.List(t.Dict()).tag(sync=True)
    rows = t.List(t.Dict()).tag(sync=True)
    sort_by = t.Unicode("time").tag(sync=True)
    descending = t.Bool(True).tag(sync=True)
    value = t.Tuple().tag(sync=True)


class RunBrowser(w.VBox):
    """Find stored runs by campaign, sample, operator, date and status; open and export them.

    The search runs in the catalog (tiled queries); the runs found are a
    table (:class:`RunTable`: time, plan, campaign, status, outcome, sample,
    interrupted), newest first; a click on a header sorts by that column (a
    second click reverses it). Selecting one run shows its metadata and a
    plot of its primary stream; selecting several shows them side by side
    and overlaid in one plot. **Export** writes the selected runs' events,
    with their metadata, as one table.

    The outcome is the run's objective reading (its start document's
    ``objective_field``, else ``spectrometer_readout``) for a successful run;
    reading it takes a moment per run, so it is read on a background thread
    after each search and fills in as it comes (:meth:`wait_for_outcomes`).

    A run that was paused or suspended is flagged ("paused 2x" in its row,
    which is marked; its stop document's reason says when and why). While the lab recovers runs
    of an earlier, crashed session into the catalog, the browser says so,
    and a run without a stop document that is not one of this lab's own
    shows as "being recovered" rather than running; it looks again every
    ``poll_interval`` seconds (on the kernel's loop) and updates those runs
    when recovery is done.

    Args:
        lab: The lab whose catalog to browse (anything with a ``catalog``).
        limit: Most runs listed per search.
        poll_interval: Seconds between looks at the lab's recovery count while
            it recovers runs.
    """

    def __init__(self, lab: Any, *, limit: int = 500, poll_interval: float = 1.0) -> None:
        self.lab = lab
        self.limit = limit
        self.poll_interval = poll_interval
        self.found: dict[str, dict[str, Any]] = {}
        self._loop = KernelLoop()
        self._stop_poll: Callable[[], None] | None = None
        self._recovering = 0
        self._local: dict[str, bool] = {}
        self.campaign = w.Text(description="Campaign", placeholder="any")
        self.sample = w.Text(description="Sample", placeholder="any")
        self.operator = w.Text(description="Operator", placeholder="any")
        self.status = w.Dropdown(description="Status", options=STATUSES, value="any")
        self.since = w.DatePicker(description="From")
        self.until = w.DatePicker(description="To")
        self.search_button = w.Button(description="Search", icon="search", button_style="primary")
        self.search_button.add_class("smartlab-search")
        self.search_button.on_click(lambda _: self.search())
        self.outcomes: dict[str, float | None] = {}
        self._outcome_lock = threading.Lock()
        self._reading: Future[None] | None = None
        self._searches = 0  # a new search (or close) stops the reads of the one before
        self._relabel = Throttle(self._loop, self._show_rows, 4.0)
        self.table = RunTable(columns=[{"key": k, "label": h} for k, h in COLUMNS])
        self.table.add_class("smartlab-run-results")
        self.table.observe(self._on_select, names="value")
        self.table.on_msg(self._on_table_msg)
        self.count = w.HTML()
        self.recovery = w.HTML()
        self.recovery.add_class("smartlab-browser-recovery")
        self.details = w.HTML()
        self.details.add_class("smartlab-run-details")
        # Hidden until a run is opened: an empty image shows as a broken one in the browser.
        self.plot = w.Image(format="png", layout=w.Layout(max_width="760px", display="none"))
        self.path = w.Text(description="File", value="runs.csv")
        self.export_format = w.ToggleButtons(options=["csv", "parquet"], value="csv")
        self.export_format.observe(self._on_format, names="value")
        self.export_button = w.Button(description="Export selection", icon="download")
        self.export_button.add_class("smartlab-export")
        self.export_button.on_click(lambda _: self.export())
        self.message = w.HTML()
        self.message.add_class("smartlab-browser-message")
        super().__init__(
            [
                w.HBox([self.campaign, self.sample, self.operator]),
                w.HBox([self.status, self.since, self.until, self.search_button]),
                self.count,
                self.recovery,
                self.table,
                w.HBox([self.path, self.export_format, self.export_button]),
                self.message,
                self.details,
                self.plot,
            ]
        )
        self.add_class("smartlab-run-browser")
        self.check_recovery()

    # -- search ---------------------------------------------------------------

    def queries(self) -> list[Any]:
        """The tiled queries for the filters as they are set now."""
        queries: list[Any] = []
        if self.campaign.value.strip():
            queries.append(Key("start.campaign_id") == self.campaign.value.strip())
        if self.sample.value.strip():
            queries.append(Contains("start.sample_ids", self.sample.value.strip()))
        if self.operator.value.strip():
            queries.append(Key("start.operator") == self.operator.value.strip())
        if self.status.value != "any":
            queries.append(Key("stop.exit_status") == self.status.value)
        if self.since.value is not None:
            start = dt.datetime.combine(self.since.value, dt.time.min).timestamp()
            queries.append(Key("start.time") >= start)
        if self.until.value is not None:
            end = dt.datetime.combine(self.until.value, dt.time.max).timestamp()
            queries.append(Key("start.time") <= end)
        return queries

    def search(self) -> list[str]:
        """Search the catalog with the filters; list and return the matching uids."""
        if self.since.value and self.until.value and self.since.value > self.until.value:
            self._error(f"'From' {self.since.value} is after 'To' {self.until.value}")
            return []
        node = self.lab.catalog
        for query in self.queries():
            node = node.search(query)
        found = {uid: dict(run.metadata) for uid, run in itertools.islice(node.items(), self.limit)}
        ordered = sorted(found.items(), key=lambda kv: -float(kv[1]["start"].get("time", 0)))
        self.found = dict(ordered)
        self.check_recovery()
        self.table.value = ()
        self._show_rows()
        more = " (showing the first ones)" if len(found) == self.limit else ""
        self.count.value = f"{len(found)} run(s) found{more}"
        self.message.value = ""
        self._read_outcomes_later()
        return list(self.found)

    def run_status(self, md: Mapping[str, Any]) -> str:
        """A found run's status: its exit status, else why it has no stop document yet.

        ``"running"`` (or ``"being stored"``) for one of this lab's own runs,
        ``"being recovered"`` while the lab recovers an earlier session, else
        ``"running"`` (another process may be writing it).

        Args:
            md: The run's metadata (``start`` and ``stop`` documents).
        """
        stop = md.get("stop")
        if stop:
            return str(stop.get("exit_status", "?"))
        done = self._local.get(str(md["start"].get("uid")))
        if done is not None:
            return "being stored" if done else "running"
        return BEING_RECOVERED if self._recovering else "running"

    def row(self, uid: str) -> dict[str, Any]:
        """A found run as the table shows it: its cells as text, its status and interruptions.

        Args:
            uid: The run's uid (one of :attr:`found`).
        """
        md = self.found[uid]
        start = md["start"]
        interrupted = interruption_count(md.get("stop"))
        outcome = self.outcomes.get(uid)
        cells = {
            "time": _when(start.get("time")),
            "plan": f"{start.get('plan_name', '?')} #{start.get('scan_id', '?')}",
            "campaign": str(start.get("campaign_id") or "-"),
            "status": self.run_status(md),
            "outcome": "" if outcome is None else f"{outcome:.4g}",
            "sample": ", ".join(str(s) for s in start.get("sample_ids") or []) or "-",
            "interrupted": f"paused {interrupted}x" if interrupted else "",
        }
        return {
            "uid": uid,
            "cells": cells,
            "status": cells["status"],
            "interrupted": interrupted,
            "outcome_field": _objective_field(start),
        }

    def _sort_key(self, uid: str) -> tuple[int, Any]:
        """(0, key) for a known value, (1, "") for none: runs without one go last."""
        md = self.found[uid]
        start = md["start"]
        column = self.table.sort_by
        value: Any
        if column == "time":
            value = float(start.get("time", 0))
        elif column == "outcome":
            value = self.outcomes.get(uid)
        elif column == "interrupted":
            value = interruption_count(md.get("stop"))
        elif column == "plan":
            value = (str(start.get("plan_name", "")), int(start.get("scan_id") or 0))
        else:
            value = self.row(uid)["cells"][column].lower()
            value = None if value == "-" else value
        return (1, "") if value is None else (0, value)

    def sort(self, column: str, descending: bool | None = None) -> list[str]:
        """Sort the table by ``column``, as a click on its header does.

        Args:
            column: One of the keys of :data:`COLUMNS` (``"time"``, ``"outcome"``...).
            descending: Largest (newest) first; by default the reverse of the
                present order when ``column`` is sorted on already, else
                descending for time, outcome and interrupted and ascending
                for the others.

        Returns:
            The uids in their new order.

        Raises:
            ValueError: If ``column`` is not a column of the table.
        """
        keys = [key for key, _ in COLUMNS]
        if column not in keys:
            raise ValueError(f"cannot sort by {column!r}: the columns are {', '.join(keys)}")
        if descending is None:
            if column == self.table.sort_by:
                descending = not self.table.descending
            else:
                descending = column in DESCENDING_FIRST
        with self.table.hold_sync():
            self.table.sort_by = column
            self.table.descending = descending
            self._show_rows()
        return [row["uid"] for row in self.table.rows]

    def _ordered(self) -> list[str]:
        known = [u for u in self.found if self._sort_key(u)[0] == 0]
        unknown = [u for u in self.found if self._sort_key(u)[0] == 1]
        known.sort(key=lambda u: self._sort_key(u)[1], reverse=self.table.descending)
        return known + unknown

    def _show_rows(self) -> None:
        selected = tuple(uid for uid in self.table.value if uid in self.found)
        self.table.rows = [self.row(uid) for uid in self._ordered()]
        if selected != tuple(self.table.value):
            self.table.value = selected

    def _on_table_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "sort":
            self.sort(str(content.get("column")))

    # -- outcomes ---------------------------------------------------------------

    def read_outcome(self, uid: str) -> float | None:
        """The outcome of a found run (its objective reading), read once and kept.

        Args:
            uid: The run's uid.

        Returns:
            The first value of the run's objective field in its primary
            stream, or ``None`` for a run that did not succeed or has none.
        """
        with self._outcome_lock:
            if uid in self.outcomes:
                return self.outcomes[uid]
        md = self.found.get(uid) or dict(self.lab.catalog[uid].metadata)
        value: float | None = None
        stop = md.get("stop") or {}
        if stop.get("exit_status") == "success" and (stop.get("num_events") or {}).get("primary"):
            field = _objective_field(md["start"])
            try:
                data = self.lab.catalog[uid]["primary"].read()
                if field in data:
                    number = float(np.asarray(data[field]).ravel()[0])
                    value = number if math.isfinite(number) else None
            except (KeyError, IndexError, TypeError, ValueError):
                value = None  # no such stream or field: no outcome to show
        with self._outcome_lock:
            self.outcomes[uid] = value
        return value

    def _read_outcomes_later(self) -> None:
        missing = [
            uid
            for uid, md in self.found.items()
            if uid not in self.outcomes and (md.get("stop") or {}).get("exit_status") == "success"
        ]
        if not missing:
            return

        self._searches += 1
        search = self._searches

        def read() -> None:
            for uid in missing:
                if self._searches != search:
                    return
                if uid in self.found:
                    self.read_outcome(uid)
                    self._loop.call(self._relabel.request)

        self._reading = _OUTCOME_READER.submit(read)

    def wait_for_outcomes(self, timeout: float = 60.0) -> bool:
        """Wait until the outcomes of the last search are read and shown.

        Args:
            timeout: Most seconds to wait.

        Returns:
            True if they were all read in time.
        """
        reading = self._reading
        if reading is not None:
            try:
                reading.result(timeout)
            except TimeoutError:
                return False
        self._show_rows()
        return True

    # -- recovery of an earlier session ----------------------------------------

    def check_recovery(self) -> int:
        """Look at the lab's recovery count now; say it, and follow it while it lasts.

        When the count changes, the listed runs without a stop document are
        read again (see :meth:`refresh_unfinished`).

        Returns:
            Runs of an earlier session the lab is still recovering.
        """
        self._local = {
            str(uid): bool(getattr(run, "done", True))
            for run in list(getattr(self.lab, "runs", None) or [])
            for uid in list(getattr(run, "uids", None) or [])
        }
        count, before = recovering(self.lab), self._recovering
        self._recovering = count
        text = recovering_text(count, " into the catalog")
        self.recovery.value = (
            _format.note(
                f"{text}: a run without a stop document is shown as "
                f"'{BEING_RECOVERED}' until it is done"
            )
            if text
            else ""
        )
        if count != before and self.found:
            self.refresh_unfinished()
        if count and self._stop_poll is None:
            self._stop_poll = self._loop.every(self.poll_interval, self._poll)
        elif not count and self._stop_poll is not None:
            self._stop_poll()
            self._stop_poll = None
        return count

    def _poll(self) -> None:
        if recovering(self.lab) != self._recovering:
            self.check_recovery()

    def refresh_unfinished(self) -> list[str]:
        """Read again the listed runs that had no stop document; relabel them.

        The selection is kept.

        Returns:
            The uids of those runs that have their stop document now.
        """
        unfinished = [uid for uid, md in self.found.items() if not md.get("stop")]
        if not unfinished:
            return []
        stopped = []
        for uid in unfinished:
            try:
                md = dict(self.lab.catalog[uid].metadata)
            except Exception:  # gone from the catalog, or the catalog is down: keep it
                continue
            self.found[uid] = md
            if md.get("stop"):
                stopped.append(uid)
        self._show_rows()
        if stopped:
            self._read_outcomes_later()
        return stopped

    # -- one run --------------------------------------------------------------

    def _on_select(self, change: dict[str, Any]) -> None:
        selected = list(change["new"])
        if len(selected) == 1:
            self.show_run(selected[0])
        elif len(selected) > 1:
            self.show_runs(selected)
        else:
            self.details.value = ""
            self.plot.layout.display = "none"

    def show_run(self, uid: str) -> None:
        """Show the metadata and a plot of one run."""
        run = self.lab.catalog[uid]
        md = dict(run.metadata)
        start, stop = md["start"], md.get("stop") or {}
        interrupted = interruption_count(stop)
        fields = {
            "uid": start["uid"],
            "started": _when(start.get("time")),
            "status": self.run_status(md),
            "reason": stop.get("reason", ""),
            **({"interrupted": f"{interrupted} time(s)"} if interrupted else {}),
            **{k: start[k] for k in METADATA_COLUMNS if k in start},
        }
        if "recipe" in start:
            fields["recipe"] = start["recipe"]
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
            f"<td>{html.escape(_plain(v))}</td></tr>"
            for k, v in fields.items()
        )
        full = html.escape(json.dumps(md, indent=1, default=str))
        # The plot first: the details then say that both are up to date.
        self.plot.value = _figure.to_png(self.figure([uid]))
        self.plot.layout.display = None
        self.details.value = (
            f"<table>{rows}</table><details><summary>all metadata</summary>"
            f"<pre style='max-height:20em;overflow:auto'>{full}</pre></details>"
        )

    def show_runs(self, uids: list[str]) -> None:
        """Show several runs side by side (one column each) and overlaid in one plot.

        Args:
            uids: The runs' uids, in the order to show them.
        """
        summaries = [self._summary(uid) for uid in uids]
        names = [
            name
            for name in dict.fromkeys(k for summary in summaries for k in summary)
            if any(summary.get(name) for summary in summaries)  # no rows empty for all
        ]
        head = "".join(
            f"<th class='{'smartlab-run-interrupted' if s.get('interrupted') else ''}'>"
            f"{html.escape(s['run'])}</th>"
            for s in summaries
        )
        body = "".join(
            f"<tr><th style='text-align:left'>{html.escape(name)}</th>"
            + "".join(f"<td>{html.escape(s.get(name, ''))}</td>" for s in summaries)
            + "</tr>"
            for name in names
            if name != "run"
        )
        self.plot.value = _figure.to_png(self.figure(uids))
        self.plot.layout.display = None
        self.details.value = (
            f"<b>{len(uids)} runs side by side</b>"
            f"<div style='overflow-x:auto'><table class='smartlab-run-compare'>"
            f"<tr><th></th>{head}</tr>{body}</table></div>"
        )

    def _summary(self, uid: str) -> dict[str, str]:
        md = self.found.get(uid) or dict(self.lab.catalog[uid].metadata)
        start, stop = md["start"], md.get("stop") or {}
        interrupted = interruption_count(stop)
        outcome = self.read_outcome(uid)
        summary = {
            "run": f"#{start.get('scan_id', '?')} {start.get('plan_name', '?')} {uid[:8]}",
            "started": _when(start.get("time")),
            "status": self.run_status(md),
            "campaign": str(start.get("campaign_id") or "-"),
            "sample": ", ".join(str(s) for s in start.get("sample_ids") or []) or "-",
            "interrupted": f"paused {interrupted}x" if interrupted else "",
            "outcome": "" if outcome is None else f"{outcome:.4g}",
            "reason": str(stop.get("reason") or ""),
        }
        for key, value in (start.get("recipe") or {}).items():
            summary[_figure.label(key)] = _plain(value)
        return summary

    def figure(self, uids: list[str]) -> Figure:
        """The plot of the runs' primary streams, as shown: one run alone, or several overlaid.

        A run's spectra are drawn as lines against the channel (its last
        spectrum when several runs are overlaid); its scalar readout against
        the event number (whole numbers). Each run is one colour, named in
        the legend when there are several. At most :data:`MAX_OVERLAID`.

        Args:
            uids: The runs to draw.
        """
        shown = uids[:MAX_OVERLAID]
        streams = []
        for uid in shown:
            run = self.lab.catalog[uid]
            start = dict(run.metadata)["start"]
            streams.append((start, run["primary"].read() if "primary" in run else None))

        def draw(axes: list[Axes]) -> None:
            (ax,) = axes
            several = len(streams) > 1
            drawn = 0
            events = 0
            y_name = ""
            spectra_drawn = False
            for start, data in streams:
                name = f"#{start.get('scan_id', '?')} {start.get('plan_name', '?')}"
                if data is None:
                    continue
                spectra = [n for n in data.data_vars if data[n].ndim == 2]
                scalars = [
                    n for n in data.data_vars if data[n].ndim == 1 and data[n].dtype.kind in "fiu"
                ]
                if spectra:
                    values = np.asarray(data[spectra[0]])
                    rows = values[-1:] if several else values[-20:]
                    for row in rows:
                        ax.plot(row, label=name if several else None)
                    y_name, spectra_drawn = spectra[0], True
                    drawn += 1
                elif scalars and not spectra_drawn:
                    hinted = [n for n in scalars if n.endswith("readout")] or scalars[:1]
                    values = np.asarray(data[hinted[0]])
                    steps = np.arange(1, len(values) + 1)
                    ax.plot(steps, values, "o-", label=name if several else None)
                    events = max(events, len(values))
                    y_name = hinted[0]
                    drawn += 1
            if not drawn:
                _figure.no_data(ax, "no primary stream to plot")
                return
            if spectra_drawn:
                ax.set_xlabel("Channel")
            else:
                ax.set_xlabel("Event")
                _figure.integer_ticks(ax, "x", count=events)
            ax.set_ylabel(_figure.label(y_name))
            if several:
                more = f" (first {MAX_OVERLAID})" if len(uids) > MAX_OVERLAID else ""
                ax.set_title(f"{len(uids)} runs overlaid{more}")
                ax.legend(loc="best")
            else:
                start = streams[0][0]
                ax.set_title(f"Run {start['uid'][:8]} ({start.get('plan_name', '?')})")

        return _figure.figure(draw, size=(7, 3))

    # -- export ---------------------------------------------------------------

    def to_dataframe(self, uids: list[str]) -> pd.DataFrame:
        """One row per event of the runs: metadata columns then the scalar readings."""
        frames = []
        for uid in uids:
            run = self.lab.catalog[uid]
            md = dict(run.metadata)
            start, stop = md["start"], md.get("stop") or {}
            meta = {
                "uid": uid,
                "start_time": _when(start.get("time")),
                "exit_status": self.run_status(md),
                "interruptions": interruption_count(stop),
                **{k: start.get(k) for k in METADATA_COLUMNS},
            }
            meta["sample_ids"] = ",".join(meta["sample_ids"] or [])
            for key, value in (start.get("recipe") or {}).items():
                if isinstance(value, dict):
                    meta.update({f"recipe_{key}_{k}": v for k, v in value.items()})
                else:
                    meta[f"recipe_{key}"] = value
            if "primary" not in run:
                frames.append(pd.DataFrame([meta]))
                continue
            data = run["primary"].read()
            columns = {n: np.asarray(data[n]) for n in data.data_vars if data[n].ndim == 1}
            frame = pd.DataFrame(columns)
            for key, value in reversed(meta.items()):
                frame.insert(0, key, value)
            frames.append(frame)
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def export(self, path: str | Path | None = None) -> Path | None:
        """Write the selected runs to ``path`` (CSV or Parquet by the chosen format)."""
        uids = list(self.table.value)
        if not uids:
            self._error("select one or more runs to export first")
            return None
        target = Path(path or self.path.value).expanduser()
        try:
            frame = self.to_dataframe(uids)
            if self.export_format.value == "parquet":
                frame.to_parquet(target, index=False)
            else:
                frame.to_csv(target, index=False)
        except (OSError, ValueError, ImportError) as exc:
            self._error(f"could not write {target}: {_format.exception(exc)}")
            return None
        self.message.value = _format.note(
            f"wrote {len(frame)} row(s) from {len(uids)} run(s) to {target}"
        )
        return target

    def _on_format(self, change: dict[str, Any]) -> None:
        suffix = ".parquet" if change["new"] == "parquet" else ".csv"
        self.path.value = str(Path(self.path.value or "runs").with_suffix(suffix))

    def _error(self, message: str) -> None:
        self.message.value = _format.error(message)

    def close(self) -> None:
        """Stop following the lab's recovery and close the widget."""
        if self._stop_poll is not None:
            self._stop_poll()
            self._stop_poll = None
        self._searches += 1  # its outcome reads stop
        super().close()


__all__ = ["BEING_RECOVERED", "COLUMNS", "RunBrowser", "RunTable", "interruption_count"]

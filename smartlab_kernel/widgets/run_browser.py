"""RunBrowser: search stored runs, open one, export a selection to CSV or Parquet."""

from __future__ import annotations

import datetime as dt
import html
import itertools
import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import ipywidgets as w
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from tiled.queries import Contains, Key

from . import _figure, _format
from .marshal import KernelLoop
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


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "?"
    return dt.datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M:%S")


class RunBrowser(w.VBox):
    """Find stored runs by campaign, sample, operator, date and status; open and export them.

    The search runs in the catalog (tiled queries); results are listed newest
    first. Selecting one run shows its metadata and a plot of its primary
    stream; **Export** writes the selected runs' events, with their metadata,
    as one table.

    A run that was paused or suspended is flagged ("interrupted 2x"; its
    stop document's reason says when and why). While the lab recovers runs
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
        self.results = w.SelectMultiple(options=[], rows=8, layout=w.Layout(width="100%"))
        self.results.add_class("smartlab-run-results")
        self.results.observe(self._on_select, names="value")
        self.count = w.HTML()
        self.recovery = w.HTML()
        self.recovery.add_class("smartlab-browser-recovery")
        self.details = w.HTML()
        self.details.add_class("smartlab-run-details")
        # Hidden until a run is opened: an empty image shows as a broken one in the browser.
        self.plot = w.Image(format="png", layout=w.Layout(max_width="700px", display="none"))
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
                self.results,
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
        self.results.value = ()
        self.results.options = [(self._label(md), uid) for uid, md in ordered]
        more = " (showing the first ones)" if len(found) == self.limit else ""
        self.count.value = f"{len(found)} run(s) found{more}"
        self.message.value = ""
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

    def _label(self, md: dict[str, Any]) -> str:
        start = md["start"]
        interrupted = interruption_count(md.get("stop"))
        return "  ".join(
            [
                _when(start.get("time")),
                f"#{start.get('scan_id', '?')}",
                str(start.get("plan_name", "?")),
                f"campaign={start.get('campaign_id', '-')}",
                self.run_status(md),
                *([f"interrupted {interrupted}x"] if interrupted else []),
                start["uid"][:8],
            ]
        )

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
        selected = tuple(self.results.value)
        self.results.options = [(self._label(md), uid) for uid, md in self.found.items()]
        self.results.value = tuple(uid for uid in selected if uid in self.found)
        return stopped

    # -- one run --------------------------------------------------------------

    def _on_select(self, change: dict[str, Any]) -> None:
        selected = change["new"]
        if len(selected) == 1:
            self.show_run(selected[0])

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
            f"<td>{html.escape(json.dumps(v, default=str))}</td></tr>"
            for k, v in fields.items()
        )
        full = html.escape(json.dumps(md, indent=1, default=str))
        self.details.value = (
            f"<table>{rows}</table><details><summary>all metadata</summary>"
            f"<pre style='max-height:20em;overflow:auto'>{full}</pre></details>"
        )
        self.plot.value = self._plot(run, start)
        self.plot.layout.display = None

    def _plot(self, run: Any, start: dict[str, Any]) -> bytes:
        data = run["primary"].read() if "primary" in run else None

        def draw(axes: list[Axes]) -> None:
            (ax,) = axes
            ax.set_title(f"run {start['uid'][:8]} ({start.get('plan_name', '?')})", fontsize=10)
            if data is None:
                ax.text(0.5, 0.5, "no primary stream", ha="center")
                return
            spectra = [n for n in data.data_vars if data[n].ndim == 2]
            scalars = [
                n for n in data.data_vars if data[n].ndim == 1 and data[n].dtype.kind in "fiu"
            ]
            if spectra:
                values = np.asarray(data[spectra[0]])
                for row in values[-20:]:
                    ax.plot(row)
                ax.set_xlabel("channel")
                ax.set_ylabel(spectra[0])
            elif scalars:
                hinted = [n for n in scalars if n.endswith("readout")] or scalars[:1]
                ax.plot(np.asarray(data[hinted[0]]), "o-")
                ax.set_xlabel("event")
                ax.set_ylabel(hinted[0])

        return _figure.png(draw, size=(6, 3))

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
        uids = list(self.results.value)
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
        super().close()


__all__ = ["BEING_RECOVERED", "RunBrowser", "interruption_count"]

"""CampaignDashboard: run control, live plot, planner review, devices and history in one."""

from __future__ import annotations

import html

import ipywidgets as w

from smartlab_kernel.planner import Planner
from smartlab_kernel.session import Lab

from . import _format
from .device_panel import DevicePanel
from .live_plot import LivePlot
from .marshal import KernelLoop
from .planner_review import AcceptCallback, PlannerReview
from .run_browser import RunBrowser
from .run_control import RunControl


class CampaignDashboard(w.VBox):
    """Everything for a closed-loop campaign: progress, best so far, suggestions, live data.

    A summary line on top (runs done / failed / queued; with a planner, the
    experiments observed and the best so far, kept up to date while a
    campaign runs), then
    tabs: **Run** (:class:`RunControl` and :class:`LivePlot`), **Planner**
    (:class:`PlannerReview`, when a planner is given), **Devices** (a
    :class:`DevicePanel` per device) and **History** (:class:`RunBrowser`).

    Args:
        lab: The lab.
        planner: The campaign's planner, if any.
        on_accept: Passed to :class:`PlannerReview` (runs an accepted suggestion).
        y: Event field for the live plot.
        x: Horizontal axis of the live plot (``None``: event index).
    """

    def __init__(
        self,
        lab: Lab,
        planner: Planner | None = None,
        *,
        on_accept: AcceptCallback | None = None,
        y: str = "spectrometer_readout",
        x: str | None = None,
    ) -> None:
        self.lab = lab
        self.planner = planner
        self.run_control = RunControl(lab)
        self.live_plot = LivePlot(lab, y=y, x=x)
        self.planner_review = (
            PlannerReview(planner, on_accept=on_accept, lab=lab) if planner is not None else None
        )
        self.device_panels = {
            name: DevicePanel(device, lab=lab) for name, device in lab.devices.items()
        }
        self.run_browser = RunBrowser(lab)
        self.summary = w.HTML()
        self.summary.add_class("smartlab-campaign-summary")
        devices = w.Accordion(children=list(self.device_panels.values()))
        for i, name in enumerate(self.device_panels):
            devices.set_title(i, name)
        pages: list[tuple[str, w.Widget]] = [
            ("Run", w.VBox([self.run_control, self.live_plot])),
        ]
        if self.planner_review is not None:
            pages.append(("Planner", self.planner_review))
        pages += [("Devices", devices), ("History", self.run_browser)]
        self.tabs = w.Tab(children=[page for _, page in pages])
        for i, (title, _) in enumerate(pages):
            self.tabs.set_title(i, title)
        super().__init__([self.summary, self.tabs])
        self.add_class("smartlab-dashboard")
        self._stop_ticks = KernelLoop().every(1.0, self.refresh)
        self.refresh()

    def refresh(self) -> None:
        """Update the summary line and the planner tab (kernel thread).

        A campaign plan observes its results on the RunEngine thread, which
        tells no widget; this tick is what makes the summary's experiment
        count and best so far, and the planner tab, follow it.
        """
        states = [run.state for run in self.lab.runs]
        parts = [
            f"{states.count('finished')} finished",
            f"{states.count('failed')} failed",
            f"{states.count('aborted')} aborted",
            f"{states.count('queued') + states.count('running') + states.count('paused')} active",
        ]
        extra = ""
        if self.planner is not None:
            observed = len(self.planner.observations)
            extra = f" | {observed} experiment(s) observed"
            if observed:
                try:
                    top = self.planner.best()
                except ValueError as exc:
                    extra += f" | best so far: none ({_format.exception(exc)})"
                else:
                    outcome = ", ".join(f"{k} = {v:.4g}" for k, v in top["outcomes"].items())
                    extra += f" | best so far: <b>{html.escape(outcome)}</b>"
        self.summary.value = f"<b>Campaign</b>: runs {', '.join(parts)}{extra}"
        if self.planner_review is not None:
            self.planner_review.refresh()  # redraws only when the planner's data changed

    def close(self) -> None:
        """Close every part (stops polling and subscriptions)."""
        self._stop_ticks()
        parts: list[w.Widget] = [
            self.run_control,
            self.live_plot,
            self.run_browser,
            *self.device_panels.values(),
        ]
        for part in parts:
            part.close()
        if self.planner_review is not None:
            self.planner_review.close()
        super().close()


def dashboard(
    lab: Lab,
    planner: Planner | None = None,
    *,
    on_accept: AcceptCallback | None = None,
    y: str = "spectrometer_readout",
    x: str | None = None,
) -> CampaignDashboard:
    """Return the dashboard for ``lab`` (and ``planner``); display it in a notebook cell.

    Args:
        lab: The lab.
        planner: The campaign's planner, if any.
        on_accept: Called with ``(params, suggestion)`` when a suggestion is accepted.
        y: Event field for the live plot.
        x: Horizontal axis of the live plot.
    """
    return CampaignDashboard(lab, planner, on_accept=on_accept, y=y, x=x)


__all__ = ["CampaignDashboard", "dashboard"]

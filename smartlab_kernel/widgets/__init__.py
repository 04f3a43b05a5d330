"""Notebook widgets: views over the session, planner, storage and LIMS APIs."""

from .dashboard import CampaignDashboard, dashboard
from .device_panel import DevicePanel
from .lab_monitor import LabMonitor
from .live_plot import LivePlot
from .planner_review import PlannerReview
from .queue_widget import QueueWidget
from .run_browser import RunBrowser
from .run_control import RunControl
from .sample_tracker import SampleTracker

__all__ = [
    "CampaignDashboard",
    "DevicePanel",
    "LabMonitor",
    "LivePlot",
    "PlannerReview",
    "QueueWidget",
    "RunBrowser",
    "RunControl",
    "SampleTracker",
    "dashboard",
]

from __future__ import annotations

from typing import Any

from smartlab_kernel.planner import Objective, Planner, Real
from smartlab_kernel.session import Lab
from smartlab_kernel.widgets.dashboard import CampaignDashboard, dashboard


def test_dashboard_composes_every_widget(lab: Lab, messages: list[dict[str, Any]]) -> None:
    planner = Planner([Real("temperature_c", 20, 90)], [Objective("yield")], seed=0)
    board = dashboard(lab, planner)
    assert isinstance(board, CampaignDashboard)
    titles = [board.tabs.get_title(i) for i in range(len(board.tabs.children))]
    assert titles == ["Run", "Planner", "Devices", "History"]
    assert set(board.device_panels) == set(lab.devices)
    assert "Campaign" in board.summary.value and "finished" in board.summary.value
    planner.observe({"temperature_c": 50.0}, {"yield": 0.4})
    board.refresh()
    assert "best so far: <b>yield = 0.4</b>" in board.summary.value
    board.close()
    planner.close()


def test_dashboard_without_planner(lab: Lab) -> None:
    board = dashboard(lab)
    titles = [board.tabs.get_title(i) for i in range(len(board.tabs.children))]
    assert titles == ["Run", "Devices", "History"]
    assert board.planner_review is None
    board.close()

"""What the Smart Lab kernel puts in a notebook's namespace (the extension and ``%lab open``)."""

from __future__ import annotations

from typing import Any

import bluesky.plan_stubs as bps
import bluesky.plans as bp

from .. import plans
from ..campaign.loop import bench_planner, bench_recipe, campaign, resume_planner


def namespace(lab: Any) -> dict[str, Any]:
    """What the extension puts in the user namespace.

    ``lab``, its devices by name, the plans (``measure_recipe``, ``Recipe``, ...),
    ``bp``/``bps``, the campaign helpers and the widget classes.
    """
    names: dict[str, Any] = {
        "lab": lab,
        "bp": bp,
        "bps": bps,
        "campaign": campaign,
        "bench_planner": bench_planner,
        "bench_recipe": bench_recipe,
        "resume_planner": resume_planner,
    }
    names.update({name: getattr(plans, name) for name in plans.__all__})
    names.update(_widget_classes())
    names.update(getattr(lab, "devices", {}))  # a shared lab server's devices are on the server
    return names


def _widget_classes() -> dict[str, Any]:
    """The notebook widgets (``RunControl``, ``LivePlot``, ...), if ipywidgets is installed."""
    try:
        from .. import widgets
    except ImportError:
        return {}
    return {name: getattr(widgets, name) for name in widgets.__all__ if name[:1].isupper()}


__all__ = ["namespace"]

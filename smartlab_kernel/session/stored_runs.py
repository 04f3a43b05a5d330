"""Reading a campaign's runs back from the catalog."""

from __future__ import annotations

from typing import Any

MEASURE_PLAN = "measure_recipe"


def campaign_runs(catalog: Any, campaign_id: str, plan_name: str = MEASURE_PLAN) -> list[Any]:
    """Stored runs of ``campaign_id`` made by ``plan_name``, oldest first."""
    from tiled.queries import Key

    found = catalog.search(Key("start.campaign_id") == campaign_id).search(
        Key("start.plan_name") == plan_name
    )
    return sorted((found[uid] for uid in found), key=lambda r: float(r.metadata["start"]["time"]))


def stored_readout(run: Any, field_name: str = "spectrometer_readout") -> float | None:
    """The first value of ``field_name`` in a successful run, else ``None``."""
    if (run.metadata.get("stop") or {}).get("exit_status") != "success":
        return None
    return float(run["primary"].read()[field_name].values[0])

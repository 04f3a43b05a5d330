"""Which EPICS Channel Access client ophyd uses, and where it looks for IOCs."""

from __future__ import annotations

import os

import ophyd

#: Environment variables that decide where Channel Access searches for PVs.
CA_ENVIRONMENT = (
    "EPICS_CA_ADDR_LIST",
    "EPICS_CA_AUTO_ADDR_LIST",
    "EPICS_CA_SERVER_PORT",
    "EPICS_CA_REPEATER_PORT",
)


def ensure_control_layer() -> str:
    """Make sure ophyd talks to EPICS through a real control layer; return its name.

    ophyd picks pyepics when it can (it needs ``libca``) and caproto (pure
    Python) otherwise. If it was left on the ``dummy`` layer, switch to caproto.

    Raises:
        ImportError: If neither pyepics nor caproto can be imported.
    """
    layer = ophyd.get_cl()
    if layer.name == "dummy":
        try:
            ophyd.set_cl("caproto")
        except ImportError as exc:
            raise ImportError(
                "EPICS devices need the caproto package (pip install caproto) or pyepics "
                "with libca; ophyd has only its dummy control layer"
            ) from exc
        layer = ophyd.get_cl()
    return str(layer.name)


def search_description() -> str:
    """Say where Channel Access searches for PVs, for error messages."""
    addr = os.environ.get("EPICS_CA_ADDR_LIST", "")
    auto = os.environ.get("EPICS_CA_AUTO_ADDR_LIST", "YES")
    port = os.environ.get("EPICS_CA_SERVER_PORT", "5064")
    where = addr if addr else "broadcast"
    return f"EPICS_CA_ADDR_LIST={where!s} (auto={auto}, port {port})"

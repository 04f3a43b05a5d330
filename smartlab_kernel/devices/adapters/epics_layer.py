"""Which EPICS Channel Access client ophyd uses, and where it looks for IOCs."""

from __future__ import annotations

import contextlib
import logging
import os
from typing import Any

import ophyd

logger = logging.getLogger(__name__)

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
    if layer.name == "caproto":
        _keep_caproto_searching()
        _disconnect_caproto_before_shutdown()
    return str(layer.name)


_searching_kept = False


def _keep_caproto_searching() -> None:
    """Keep caproto's search thread alive when a search fails to go out.

    caproto's threading client sends every search for a PV from one thread
    per process (``retry``), through ``SharedBroadcaster.send``, which raises
    on a failed ``sendto``. An error there ended the thread, and from then on
    no PV in the process was ever found again: every device timed out
    "searching" until Python restarted (a CI run lost nine tests so; what
    failed there is not known, an injected ``ENOBUFS`` does the same). This
    logs any error of ``send`` instead; the searches stay unanswered, so the
    thread sends them again on its next round. ``send`` is looked up on each
    call, so this also holds for the thread ophyd started when it was
    imported. Idempotent.
    """
    global _searching_kept
    if _searching_kept:
        return
    from caproto import CaprotoNetworkError
    from caproto.threading.client import SharedBroadcaster

    _searching_kept = True
    original = getattr(SharedBroadcaster, "send", None)
    if original is None:  # another caproto: leave it as it is
        return

    def send(self: Any, *commands: Any) -> None:
        try:
            original(self, *commands)
        except CaprotoNetworkError as exc:
            logger.warning("Channel Access: %s; the searches go out again on the next round", exc)
        except Exception:  # anything raised here would end all searching in the process
            logger.exception("Channel Access: sending searches failed; they go out again")

    SharedBroadcaster.send = send


_registered = False


def _disconnect_caproto_before_shutdown() -> None:
    """Close caproto's circuits before Python shuts its thread pools down.

    At exit, ``concurrent.futures`` refuses new work before ``atexit``
    handlers run, while caproto's selector thread still receives monitor
    updates and hands them to its callback pool: every script that used an
    EPICS device ended with "RuntimeError: cannot schedule new futures after
    interpreter shutdown" tracebacks. Hooks registered with
    ``threading._register_atexit`` run before that, last registered first,
    so this one disconnects caproto's default context in time.
    """
    global _registered
    if _registered:
        return
    import threading

    register = getattr(threading, "_register_atexit", None)
    if register is None:  # another Python: leave the default behaviour
        return

    def disconnect() -> None:
        from caproto.threading.pyepics_compat import PV

        with contextlib.suppress(Exception):  # shutting down: nobody to report to
            PV.default_context().disconnect(wait=False)

    register(disconnect)
    _registered = True


def search_description() -> str:
    """Say where Channel Access searches for PVs, for error messages."""
    addr = os.environ.get("EPICS_CA_ADDR_LIST", "")
    auto = os.environ.get("EPICS_CA_AUTO_ADDR_LIST", "YES")
    port = os.environ.get("EPICS_CA_SERVER_PORT", "5064")
    where = addr if addr else "broadcast"
    return f"EPICS_CA_ADDR_LIST={where!s} (auto={auto}, port {port})"

"""Connect to every configured device and report which ones answer."""

from __future__ import annotations

import time
from dataclasses import dataclass

from ophyd import Device

from ..adapters.ophyd_async_devices import check_connection, is_ophyd_async_device
from .builders import DeviceFactory
from .model import LabConfig


@dataclass(frozen=True)
class CheckResult:
    """What happened when one device was contacted.

    Attributes:
        name: The device's name.
        kind: Its kind (``epics``, ``sila2``, ...).
        endpoint: Where it was reached.
        ok: Whether it answered.
        detail: What it answered, or why it failed.
        seconds: How long the check took.
    """

    name: str
    kind: str
    endpoint: str
    ok: bool
    detail: str
    seconds: float


def probe(device: Device, timeout: float) -> str:
    """Ask ``device`` to answer and return a one-line summary.

    Adapter devices implement ``check_connection(timeout)``; other devices are read.

    Raises:
        Exception: Whatever the device raises when it does not answer.
    """
    check = getattr(device, "check_connection", None)
    if callable(check):
        return str(check(timeout))
    if is_ophyd_async_device(device):
        return check_connection(device, timeout)
    readings = device.read()
    return f"read {len(readings)} value(s)"


def _close(device: Device) -> None:
    close = getattr(device, "close", None)
    if callable(close):
        close()


def check_devices(config: LabConfig, timeout: float = 5.0) -> list[CheckResult]:
    """Build and contact each device of ``config`` in turn; never raises for a device.

    Args:
        config: The validated configuration.
        timeout: Seconds each device may take to answer.

    Returns:
        One result per device, in file order.
    """
    factory = DeviceFactory(config)
    results = []
    for name, device_config in config.devices.items():
        start = time.monotonic()
        try:
            device = factory.build(device_config)
            try:
                detail, ok = probe(device, timeout), True
            finally:
                _close(device)
        except Exception as exc:  # reported in the table, with the error's own words
            detail, ok = f"{type(exc).__name__}: {exc}", False
        results.append(
            CheckResult(
                name=name,
                kind=device_config.kind,
                endpoint=device_config.endpoint(),
                ok=ok,
                detail=detail,
                seconds=time.monotonic() - start,
            )
        )
    return results


def format_results(results: list[CheckResult]) -> str:
    """Render results as a plain-text table (device, kind, endpoint, status, detail)."""
    header = ("DEVICE", "KIND", "ENDPOINT", "STATUS", "DETAIL")
    rows = [
        (r.name, r.kind, r.endpoint, "ok" if r.ok else "FAILED", r.detail.replace("\n", " "))
        for r in results
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]
    lines = []
    for row in [header, *rows]:
        cells = [cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True)]
        lines.append("  ".join([*cells, row[4]]).rstrip())
    return "\n".join(lines)

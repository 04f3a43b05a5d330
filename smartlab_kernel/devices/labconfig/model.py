"""A validated lab configuration: which devices there are, of which kind, with what settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class DeviceConfig:
    """One device of the lab, as the configuration file describes it.

    Attributes:
        name: The device's name (an identifier; it prefixes its data keys).
        kind: ``"simulated"``, ``"epics"``, ``"sila2"``, ``"pylabrobot"`` or ``"ophyd_async"``.
        settings: Its validated settings, defaults filled in.
    """

    name: str
    kind: str
    settings: dict[str, Any]

    def endpoint(self) -> str:
        """Where the device is reached, in words (for reports and errors)."""
        s = self.settings
        if self.kind == "epics":
            if s.get("device_class") == "motor":
                return f"motor record {s['prefix']}"
            return f"PV prefix {s['prefix']}"
        if self.kind == "sila2":
            return f"{s['host']}:{s['port']}"
        if self.kind == "pylabrobot":
            return f"PyLabRobot {s['backend']} backend"
        if self.kind == "ophyd_async":
            where = f"PV prefix {s['prefix']}" if s["prefix"] else "no prefix"
            cls = str(s["device_class"]).replace(":", ".").rsplit(".", 1)[-1]
            return f"ophyd-async {cls}, {where}" + (" (mock)" if s["mock"] else "")
        return f"simulated {s['model']}"


@dataclass(frozen=True)
class LabConfig:
    """A whole lab configuration.

    Attributes:
        devices: Device name -> its configuration, in file order.
        simulation: Settings of the simulated bench (``seed``, ``time_scale``, ...).
        name: The lab's name, if given.
        source: The file it was read from (or ``"<string>"``).
    """

    devices: dict[str, DeviceConfig]
    simulation: dict[str, Any] = field(default_factory=dict)
    name: str = ""
    source: str = "<config>"

"""How the kernel connects its lab: a small TOML file or environment variables."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

CONFIG_ENV = "SMARTLAB_CONFIG"
MODES = ("simulated", "served")
_FLAGS = ("0", "1", "true", "false", "yes", "no")


@dataclass(frozen=True)
class LabConfig:
    """Settings for :func:`~smartlab_kernel.kernel.connect`.

    Attributes:
        mode: ``"simulated"`` (the simulated bench and room, embedded catalog)
            or ``"served"`` (a shared lab server started by ``smartlab serve``
            at ``url``).
        directory: Lab data folder (journal, embedded catalog).
        seed: Seed of the simulated bench.
        time_scale: Simulated seconds per real second.
        operator: Who runs the experiments.
        room: Simulate the room too (HVAC, hoods, interlocks, alarms), so
            ``%lab`` shows alarms and hood faults pause runs.
        url: The lab server's address (``served`` mode).
        api_key: Your key for the lab server (``served`` mode; default
            ``$SMARTLAB_API_KEY``).
        catalog_uri: The served tiled's API address, if not the one the lab
            server announces.
    """

    mode: str = "simulated"
    directory: str = "./lab-data"
    seed: int = 0
    time_scale: float = 100.0
    operator: str | None = None
    room: bool = True
    url: str | None = None
    api_key: str | None = None
    catalog_uri: str | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"lab config mode must be one of {MODES}, got {self.mode!r}")
        if self.mode == "served" and not self.url:
            raise ValueError(
                "lab config mode 'served' needs url (the lab server's address, "
                "e.g. 'http://127.0.0.1:60610')"
            )
        if not isinstance(self.room, bool):
            raise ValueError(f"lab config room must be true or false, got {self.room!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"lab config seed must be an integer >= 0, got {self.seed!r}")
        if not isinstance(self.time_scale, int | float) or not self.time_scale > 0:
            raise ValueError(f"lab config time_scale must be a number > 0, got {self.time_scale!r}")

    @classmethod
    def from_mapping(cls, data: dict[str, Any], source: str = "lab config") -> LabConfig:
        """Build from a dict, naming unknown keys.

        Raises:
            ValueError: On unknown keys or bad values.
        """
        allowed = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise ValueError(f"{source}: unknown keys {unknown}; allowed: {sorted(allowed)}")
        return cls(**data)

    @classmethod
    def load(cls, path: str | Path | None = None) -> LabConfig:
        """Read ``[lab]`` from a TOML file (default: ``$SMARTLAB_CONFIG``), else the defaults.

        Environment variables ``SMARTLAB_DIRECTORY``, ``SMARTLAB_SEED``,
        ``SMARTLAB_TIME_SCALE`` and ``SMARTLAB_ROOM`` (``0`` or ``1``) override
        the file.

        Raises:
            FileNotFoundError: If the file named does not exist.
            ValueError: If it is not valid TOML or has bad settings.
        """
        data: dict[str, Any] = {}
        path = path or os.environ.get(CONFIG_ENV)
        if path:
            file = Path(path)
            if not file.is_file():
                raise FileNotFoundError(f"lab config file {file} does not exist")
            try:
                parsed = tomllib.loads(file.read_text())
            except tomllib.TOMLDecodeError as exc:
                raise ValueError(f"lab config file {file} is not valid TOML: {exc}") from exc
            data = dict(parsed.get("lab", parsed))
        env = os.environ
        if "SMARTLAB_DIRECTORY" in env:
            data["directory"] = env["SMARTLAB_DIRECTORY"]
        for key, cast in (("SMARTLAB_SEED", int), ("SMARTLAB_TIME_SCALE", float)):
            if key in env:
                try:
                    data[key.removeprefix("SMARTLAB_").lower()] = cast(env[key])
                except ValueError:
                    raise ValueError(f"{key}={env[key]!r} is not a valid {cast.__name__}") from None
        if "SMARTLAB_ROOM" in env:
            flag = env["SMARTLAB_ROOM"].strip().lower()
            if flag not in _FLAGS:
                raise ValueError(f"SMARTLAB_ROOM={env['SMARTLAB_ROOM']!r}: use one of {_FLAGS}")
            data["room"] = flag in ("1", "true", "yes")
        return cls.from_mapping(data, str(path or "environment"))

"""How the kernel connects its lab: a small TOML file or environment variables."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

CONFIG_ENV = "SMARTLAB_CONFIG"
MODES = ("simulated", "served")


@dataclass(frozen=True)
class LabConfig:
    """Settings for :func:`~smartlab_kernel.kernel.connect`.

    Attributes:
        mode: ``"simulated"`` (the simulated bench, embedded catalog) or
            ``"served"`` (a served tiled catalog at ``catalog_uri``).
        directory: Lab data folder (journal, embedded catalog).
        seed: Seed of the simulated bench.
        time_scale: Simulated seconds per real second.
        operator: Who runs the experiments.
        catalog_uri: API address of a served tiled (``served`` mode).
        api_key: Key for the served catalog.
    """

    mode: str = "simulated"
    directory: str = "./lab-data"
    seed: int = 0
    time_scale: float = 100.0
    operator: str | None = None
    catalog_uri: str | None = None
    api_key: str | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"lab config mode must be one of {MODES}, got {self.mode!r}")
        if self.mode == "served" and not self.catalog_uri:
            raise ValueError("lab config mode 'served' needs catalog_uri (the tiled API address)")
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

        Environment variables ``SMARTLAB_DIRECTORY``, ``SMARTLAB_SEED`` and
        ``SMARTLAB_TIME_SCALE`` override the file.

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
        return cls.from_mapping(data, str(path or "environment"))

"""Read a lab configuration file (YAML or TOML) and validate it."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import yaml

from .errors import LabConfigError
from .model import LabConfig
from .schema import validate_config

FORMATS = ("yaml", "toml")


def parse_config_text(text: str, format: str, source: str = "<string>") -> LabConfig:
    """Parse and validate configuration text.

    Args:
        text: The file's contents.
        format: ``"yaml"`` or ``"toml"``.
        source: Where the text came from, for error messages.

    Raises:
        LabConfigError: If it does not parse or is not valid.
    """
    raw: Any
    if format == "yaml":
        try:
            raw = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise LabConfigError([f"not valid YAML: {exc}"], source) from exc
    elif format == "toml":
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise LabConfigError([f"not valid TOML: {exc}"], source) from exc
    else:
        raise ValueError(f"format must be one of {list(FORMATS)}, got {format!r}")
    return validate_config(raw, source)


def load_lab_config(path: str | Path) -> LabConfig:
    """Read a lab configuration file: ``.yaml``/``.yml`` or ``.toml``.

    Raises:
        FileNotFoundError: If the file does not exist.
        LabConfigError: If its suffix is unknown, or it does not parse or is not valid.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    formats = {".yaml": "yaml", ".yml": "yaml", ".toml": "toml"}
    if suffix not in formats:
        raise LabConfigError(
            [f"unknown file type {suffix!r}; use one of {sorted(formats)}"], str(path)
        )
    text = path.read_text(encoding="utf-8")
    return parse_config_text(text, formats[suffix], str(path))

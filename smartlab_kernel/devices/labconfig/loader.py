"""Read a lab configuration file (YAML or TOML) and validate it."""

from __future__ import annotations

import re
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
    lines: dict[str, int] = {}
    found: list[str] = []
    if format == "yaml":
        try:
            raw = yaml.safe_load(text)
            lines, found = _device_lines(text)
        except yaml.YAMLError as exc:
            raise LabConfigError([f"not valid YAML: {exc}"], source) from exc
    elif format == "toml":
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise LabConfigError([f"not valid TOML: {exc}"], source) from exc
        lines = _toml_device_lines(text)
    else:
        raise ValueError(f"format must be one of {list(FORMATS)}, got {format!r}")
    return validate_config(raw, source, lines, found)


def _device_lines(text: str) -> tuple[dict[str, int], list[str]]:
    """Line of each device entry in YAML ``text``, and the devices named twice.

    YAML parsers keep the last of two equal keys without a word, so a device
    given twice would silently replace the first; it is reported instead.
    """
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    lines: dict[str, int] = {}
    problems: list[str] = []
    if not isinstance(root, yaml.MappingNode):
        return lines, problems
    for key, value in root.value:
        if key.value != "devices" or not isinstance(value, yaml.MappingNode):
            continue
        for name_node, entry in value.value:
            name = str(name_node.value)
            line = name_node.start_mark.line + 1
            if name in lines:
                problems.append(
                    f"device {name!r} is given twice (lines {lines[name]} and {line}); "
                    "each device needs its own name"
                )
            else:
                lines[name] = line
            if isinstance(entry, yaml.MappingNode):
                problems.extend(_fields_given_twice(name, entry))
    return lines, problems


def _fields_given_twice(device: str, entry: yaml.MappingNode) -> list[str]:
    """A field given twice in one device entry (YAML would keep the last one silently)."""
    seen: dict[str, int] = {}
    problems = []
    for key, _value in entry.value:
        field, line = str(key.value), key.start_mark.line + 1
        if field in seen:
            problems.append(
                f"line {line}: device {device!r}: field {field!r} is given twice "
                f"(lines {seen[field]} and {line}); give it once"
            )
        else:
            seen[field] = line
    return problems


#: A TOML table header of one device: ``[devices.name]`` or ``[devices."name"]``.
_TOML_DEVICE = re.compile(
    r"""^\s*\[\s*devices\s*\.\s*(?:"([^"]+)"|'([^']+)'|([A-Za-z0-9_-]+))\s*\]"""
)


def _toml_device_lines(text: str) -> dict[str, int]:
    """Line of each ``[devices.<name>]`` table in TOML ``text`` (TOML itself refuses twins)."""
    lines: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        match = _TOML_DEVICE.match(line)
        if match is not None:
            name = next(group for group in match.groups() if group is not None)
            lines.setdefault(name, number)
    return lines


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

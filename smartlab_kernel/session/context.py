"""Contextual metadata every run's start document carries automatically."""

from __future__ import annotations

import contextlib
import functools
import getpass
import importlib.metadata
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from ophyd import Device

from ..devices.adapters.ophyd_async_configuration import configuration_now

#: Keys the session fills in; users cannot set them through ``md``.
RESERVED_KEYS: frozenset[str] = frozenset(
    {
        "operator",
        "sample_ids",
        "campaign_id",
        "devices",
        "environment",
        "versions",
        "seed",
        "bench",
        "notebook",
        "git_commit",
        "lab_directory",
        "safety",
    }
)

_PACKAGES = ("smartlab-kernel", "bluesky", "ophyd", "tiled", "bluesky-tiled-plugins", "numpy")


#: Reserved keys a plan may set in its own ``open_run`` metadata: what a run
#: is about (a campaign plan knows its campaign and samples). The rest are
#: facts about the session that only the session records.
PLAN_SETTABLE_KEYS: frozenset[str] = frozenset({"sample_ids", "campaign_id"})


def check_plan_md(md: Mapping[str, Any], session_md: Mapping[str, Any]) -> None:
    """Refuse a plan's ``open_run`` metadata that would overwrite what the session records.

    Args:
        md: The plan's own start metadata.
        session_md: What the session fills in (operator, devices, seed, ...).

    Raises:
        ValueError: If ``md`` sets a reserved key (other than ``sample_ids`` and
            ``campaign_id``) to something other than the session's value.
    """
    clash = sorted(
        key
        for key in set(md) & (RESERVED_KEYS - PLAN_SETTABLE_KEYS)
        if key not in session_md or md[key] != session_md[key]
    )
    if clash:
        given = {key: md[key] for key in clash}
        raise ValueError(
            f"the plan's metadata sets reserved keys {given}; the session records "
            f"{sorted(RESERVED_KEYS - PLAN_SETTABLE_KEYS)} itself (a plan may set "
            f"{sorted(PLAN_SETTABLE_KEYS)}); use another key, or pass operator= to Lab"
        )


def check_user_md(md: Mapping[str, Any] | None) -> dict[str, Any]:
    """Return ``md`` as a dict if it sets no reserved key.

    Raises:
        TypeError: If ``md`` is not a mapping with string keys.
        ValueError: If it sets a key the session fills in itself.
    """
    if md is None:
        return {}
    if not isinstance(md, Mapping) or not all(isinstance(k, str) for k in md):
        raise TypeError(f"md must be a dict with string keys, got {md!r}")
    clash = sorted(set(md) & RESERVED_KEYS)
    if clash:
        raise ValueError(
            f"metadata keys {clash} are reserved (filled in by the session: "
            f"{sorted(RESERVED_KEYS)}); pass operator=, sample_ids= or campaign_id= to "
            "submit() instead, or choose another key"
        )
    return dict(md)


@functools.cache
def package_versions() -> dict[str, str]:
    """Versions of the packages that shape the data."""
    versions = {}
    for name in _PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    with contextlib.suppress(importlib.metadata.PackageNotFoundError):
        versions["botorch"] = importlib.metadata.version("botorch")
    return versions


@functools.cache
def git_commit(directory: str) -> str | None:
    """The commit checked out in ``directory``'s repository, or ``None``."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def notebook_path() -> str | None:
    """The notebook this kernel runs, when Jupyter says (``JPY_SESSION_NAME``)."""
    return os.environ.get("JPY_SESSION_NAME") or os.environ.get("SMARTLAB_NOTEBOOK") or None


def default_operator() -> str:
    """The operator recorded when none is given: ``SMARTLAB_OPERATOR`` or the login name."""
    try:
        return os.environ.get("SMARTLAB_OPERATOR") or getpass.getuser()
    except (KeyError, OSError):  # no user database entry, e.g. in some containers
        return "unknown"


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist() if value.size <= 16 else f"array{list(value.shape)}"
    if isinstance(value, np.generic):
        return value.item()
    return value


def device_configuration(devices: Mapping[str, Device]) -> dict[str, dict[str, Any]]:
    """Return ``{device: {configuration key: value}}`` for every device."""
    out: dict[str, dict[str, Any]] = {}
    for name, device in devices.items():
        try:
            config = configuration_now(device)  # ophyd and ophyd-async devices
        except Exception as exc:  # a disconnected device must not stop the run from starting
            out[name] = {"error": f"{type(exc).__name__}: {exc}"}
            continue
        out[name] = {key: _plain(reading["value"]) for key, reading in config.items()}
    return out


def working_directory() -> str:
    """The current directory, as a string."""
    return str(Path.cwd())

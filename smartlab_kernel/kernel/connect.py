"""``connect()``: the lab a notebook works with."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..publish import REPLAY_ENV
from ..remote.lab import RemoteLab
from ..session import Lab
from ..session.errors import SessionError
from .config import LabConfig

_current: Lab | RemoteLab | None = None


def connect(config: LabConfig | str | Path | None = None, *, reuse: bool = True) -> Lab | RemoteLab:
    """Return the notebook's lab, starting (or connecting) it on first use.

    Args:
        config: A :class:`LabConfig`, a TOML file, or ``None`` for
            ``$SMARTLAB_CONFIG`` / the defaults (simulated lab in ``./lab-data``).
        reuse: Return the lab already connected in this process, if any.

    Returns:
        A simulated :class:`~smartlab_kernel.session.Lab`, or for
        ``mode = "served"`` a :class:`~smartlab_kernel.remote.lab.RemoteLab`
        on the shared lab server. With ``$SMARTLAB_REPLAY_BUNDLE`` set (``smartlab
        replay``), the read-only lab of that published bundle (``Lab.from_bundle``).

    Raises:
        SessionError: In served mode, if the server is unreachable or refuses the key.
    """
    global _current
    if reuse and _current is not None and not _is_closed(_current):
        return _current
    if os.environ.get(REPLAY_ENV):
        _current = Lab.from_bundle(os.environ[REPLAY_ENV])
        return _current
    settings = config if isinstance(config, LabConfig) else LabConfig.load(config)
    if settings.mode == "served":
        assert settings.url is not None  # checked by LabConfig
        _current = Lab.connect(
            settings.url, api_key=settings.api_key, catalog_uri=settings.catalog_uri
        )
        return _current
    _current = Lab.simulated(
        seed=settings.seed,
        directory=settings.directory,
        time_scale=settings.time_scale,
        operator=settings.operator,
        room=settings.room,
    )
    return _current


def _is_closed(lab: Lab | RemoteLab) -> bool:
    return bool(getattr(lab, "_closed", False))


def adopt(lab: Lab | RemoteLab) -> None:
    """Make ``lab`` the notebook's lab: the one :func:`connect` returns from now on."""
    global _current
    _current = lab


class MissingLab:
    """Stands for the lab in a kernel that could not open one; says why when used.

    The kernel still starts (its magics work; ``%lab open DIRECTORY`` opens a
    lab), e.g. when another notebook's kernel holds the default lab directory.

    Args:
        reason: Why there is no lab, and what to do.
    """

    devices: dict[str, Any] = {}
    logger = None
    log_path = None
    directory = None
    _closed = True

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __repr__(self) -> str:
        return f"<no lab: {self.reason}>"

    def __getattr__(self, name: str) -> Any:
        raise SessionError(f"lab.{name}: {self.reason}")

    def close(self) -> None:
        """Nothing to close."""

"""``connect()``: the lab a notebook works with."""

from __future__ import annotations

from pathlib import Path

from ..session import Lab
from .config import LabConfig

_current: Lab | None = None


def connect(config: LabConfig | str | Path | None = None, *, reuse: bool = True) -> Lab:
    """Return the notebook's lab, starting it on first use.

    Args:
        config: A :class:`LabConfig`, a TOML file, or ``None`` for
            ``$SMARTLAB_CONFIG`` / the defaults (simulated lab in ``./lab-data``).
        reuse: Return the lab already connected in this process, if any.
    """
    global _current
    if reuse and _current is not None and not _current._closed:
        return _current
    settings = config if isinstance(config, LabConfig) else LabConfig.load(config)
    if settings.mode == "served":
        raise NotImplementedError(
            "served mode (a shared lab server) is not available yet; use mode = 'simulated'"
        )
    _current = Lab.simulated(
        seed=settings.seed,
        directory=settings.directory,
        time_scale=settings.time_scale,
        operator=settings.operator,
    )
    return _current

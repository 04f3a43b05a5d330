"""Outside components a test needs: skip on a user's machine, fail in CI.

A test that needs Chromium, PostgreSQL, Redis or an optional package may skip
where that component is missing, saying why; with ``CI=true`` in the
environment a missing component is a failure instead, so CI never passes by
skipping what it was meant to check.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import NoReturn


def in_ci() -> bool:
    """Whether the tests run in CI (``CI=true``)."""
    return os.environ.get("CI", "").lower() == "true"


def missing_component(reason: str) -> NoReturn:
    """Skip the test with ``reason``, or fail it when running in CI."""
    import pytest  # only the test run needs it

    if in_ci():
        pytest.fail(f"{reason} (CI=true: a missing component is a failure, not a skip)")
    pytest.skip(reason)


def require_module(name: str, install_hint: str = "") -> ModuleType:
    """Import ``name`` for a test, or skip (fail in CI) saying how to install it.

    Args:
        name: The module to import, e.g. ``"playwright.sync_api"``.
        install_hint: What to install, e.g. ``"pip install 'smartlab-kernel[dev]'"``.

    Returns:
        The imported module.
    """
    try:
        return importlib.import_module(name)
    except ImportError as error:
        hint = f"; {install_hint}" if install_hint else ""
        missing_component(f"{name} cannot be imported ({error}){hint}")


__all__ = ["in_ci", "missing_component", "require_module"]

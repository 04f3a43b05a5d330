"""PyLabRobot liquid-handler backends chosen by name in the lab configuration.

The names are plain data so the configuration can be checked without
importing PyLabRobot; the backend class is imported only when one is built.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class BackendSpec:
    """Where a named backend lives in PyLabRobot and what it is.

    Attributes:
        module: The module that defines it.
        class_name: Its class in that module.
        simulated: ``True`` if it needs no instrument.
        doc: One line for error messages and the documentation.
    """

    module: str
    class_name: str
    simulated: bool
    doc: str

    def load(self) -> type[Any]:
        """Import and return the backend class."""
        cls: type[Any] = getattr(importlib.import_module(self.module), self.class_name)
        return cls


_BACKENDS = "pylabrobot.liquid_handling.backends"

#: Backend name (as written in the lab configuration) -> where PyLabRobot defines it.
LIQUID_HANDLER_BACKENDS: dict[str, BackendSpec] = {
    "chatterbox": BackendSpec(
        f"{_BACKENDS}.chatterbox",
        "LiquidHandlerChatterboxBackend",
        True,
        "prints every operation; no instrument",
    ),
    "star_chatterbox": BackendSpec(
        f"{_BACKENDS}.hamilton.STAR_chatterbox",
        "STARChatterboxBackend",
        True,
        "a Hamilton STAR's firmware commands, printed; no instrument",
    ),
    "opentrons_simulator": BackendSpec(
        f"{_BACKENDS}.opentrons_simulator",
        "OpentronsOT2Simulator",
        True,
        "an Opentrons OT-2 with two pipette mounts, simulated",
    ),
    "star": BackendSpec(
        f"{_BACKENDS}.hamilton.STAR_backend", "STARBackend", False, "Hamilton STAR(let), USB"
    ),
    "vantage": BackendSpec(
        f"{_BACKENDS}.hamilton.vantage_backend", "VantageBackend", False, "Hamilton Vantage, USB"
    ),
    "evo": BackendSpec(f"{_BACKENDS}.tecan.EVO_backend", "EVOBackend", False, "Tecan EVO, USB"),
    "opentrons": BackendSpec(
        f"{_BACKENDS}.opentrons_backend",
        "OpentronsOT2Backend",
        False,
        "Opentrons OT-2 over HTTP (backend_options: {host: ...})",
    ),
}


def backend_spec(name: str) -> BackendSpec:
    """Return the backend called ``name``.

    Raises:
        ValueError: If no backend has that name; the message lists the names there are.
    """
    try:
        return LIQUID_HANDLER_BACKENDS[name]
    except KeyError:
        allowed = ", ".join(f"{n!r} ({s.doc})" for n, s in LIQUID_HANDLER_BACKENDS.items())
        raise ValueError(
            f"PyLabRobot backend {name!r} is not one this lab knows; allowed: {allowed}"
        ) from None


def _parameters(cls: type[Any]) -> dict[str, inspect.Parameter]:
    signature = inspect.signature(cls.__init__)
    return {n: p for n, p in signature.parameters.items() if n != "self"}


def backend_option_problems(name: str, options: Mapping[str, Any]) -> list[str]:
    """What is wrong with ``backend_options`` for backend ``name`` (empty if nothing).

    Each option must be a parameter of the backend class; ``num_channels`` is
    its own configuration field. Requires PyLabRobot (the class is inspected).

    Raises:
        ValueError: If ``name`` is not a backend (see :func:`backend_spec`).
    """
    spec = backend_spec(name)
    parameters = _parameters(spec.load())
    allowed = sorted(set(parameters) - {"num_channels"})
    problems = []
    for option in options:
        if option == "num_channels":
            problems.append(
                "backend_options: give 'num_channels' as the device's own field, "
                "not in backend_options"
            )
        elif option not in parameters:
            problems.append(
                f"backend_options: {option!r} is not a parameter of {spec.class_name} "
                f"(backend {name!r}); allowed: {allowed}"
            )
    return problems


def make_backend(name: str, options: Mapping[str, Any], num_channels: int) -> Any:
    """Build the PyLabRobot backend called ``name``.

    Args:
        name: A key of :data:`LIQUID_HANDLER_BACKENDS`.
        options: Keyword arguments of the backend class (e.g. ``host`` for ``opentrons``).
        num_channels: Pipetting channels, for the backends that take it (the
            chatterboxes); the others learn theirs from the instrument.

    Raises:
        ValueError: If the name or an option is not allowed, or the backend refuses them.
        ImportError: If the backend needs a package that is not installed.
    """
    spec = backend_spec(name)
    problems = backend_option_problems(name, options)
    if problems:
        raise ValueError("; ".join(problems))
    cls = spec.load()
    kwargs = dict(options)
    if "num_channels" in _parameters(cls):
        kwargs["num_channels"] = num_channels
    try:
        return cls(**kwargs)
    except RuntimeError as exc:  # e.g. the Opentrons backend without its ot_api package
        raise ImportError(f"PyLabRobot backend {name!r} ({spec.class_name}): {exc}") from exc
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"PyLabRobot backend {name!r} ({spec.class_name}) refused {kwargs}: {exc}"
        ) from exc

"""Plans the shared queue offers: named, with JSON arguments, bound to the served bench.

A queue item is a plan *name* and its arguments, not a generator: the RE
Manager builds the generator in its own process. So the plans here take
only numbers and lists (what JSON carries), and find their devices in the
bench the profile built. This module deliberately has no
``from __future__ import annotations``: the queueserver reads the plans'
annotations to describe their parameters to clients.

Each numeric parameter also carries the ``min`` and ``max`` of the device
setpoint it drives (:data:`PARAMETER_SIGNALS`), read from the bench the
plans are bound to. The RE Manager checks every submitted item against
them, from any client, so a student hears about 500 degC when submitting,
not when the plan runs; clients see the limits in the plan descriptions.
"""

import inspect
from collections.abc import Callable, Generator
from typing import Any

from bluesky.utils import Msg

from ..devices import SimulatedBench
from ..plans import Recipe, clear_stations, measure_recipe, recipe_scan

#: Names of the plans a student may submit (the queue refuses any other).
QUEUE_PLAN_NAMES: tuple[str, ...] = ("measure", "temperature_scan")

QueuePlan = Callable[..., Generator[Msg, Any, Any]]

#: Plan parameter -> (device, setpoint signal) whose limits bound it. A list
#: parameter's limits apply to each of its values.
PARAMETER_SIGNALS: dict[str, tuple[str, str]] = {
    "a_ml": ("dispenser", "a.volume"),
    "b_ml": ("dispenser", "b.volume"),
    "solvent_ml": ("dispenser", "solvent.volume"),
    "temperature_c": ("reactor", "setpoint"),
    "temperatures_c": ("reactor", "setpoint"),
    "hold_s": ("reactor", "hold.seconds"),
    "stir_rpm": ("reactor", "stir_rpm"),
}


def parameter_limits(bench: SimulatedBench) -> dict[str, tuple[float, float]]:
    """Return ``{parameter: (low, high)}`` from the limits of ``bench``'s devices.

    A parameter whose device or signal the bench lacks (e.g. a stock it
    does not have) has no entry.
    """
    limits = {}
    for parameter, (device, path) in PARAMETER_SIGNALS.items():
        signal: Any = bench.devices.get(device)
        for part in path.split("."):
            signal = getattr(signal, part, None)
        if signal is not None and hasattr(signal, "limits"):
            low, high = signal.limits
            limits[parameter] = (float(low), float(high))
    return limits


def with_limits(plan: QueuePlan, limits: dict[str, tuple[float, float]]) -> QueuePlan:
    """Annotate ``plan``'s parameters with ``min``/``max`` for the queueserver; return it."""
    from bluesky_queueserver import parameter_annotation_decorator

    names = inspect.signature(plan).parameters
    annotation = {
        "parameters": {
            name: {"min": low, "max": high} for name, (low, high) in limits.items() if name in names
        }
    }
    return parameter_annotation_decorator(annotation)(plan)


def make_queue_plans(bench: SimulatedBench) -> dict[str, QueuePlan]:
    """Return ``{name: plan}`` for the queue, each bound to ``bench``'s devices.

    Args:
        bench: The simulated bench the RE Manager's RunEngine drives.
    """
    devices = {
        name: bench.devices[name] for name in ("dispenser", "reactor", "robot", "spectrometer")
    }
    stocks = list(devices["dispenser"].component_names)

    def _recipe(
        a_ml: float, b_ml: float, solvent_ml: float, temperature_c: float, hold_s: float, **kw: Any
    ) -> Recipe:
        volumes = {"a": a_ml, "b": b_ml, "solvent": solvent_ml}
        return Recipe(
            volumes_ml={k: v for k, v in volumes.items() if k in stocks},
            temperature_c=temperature_c,
            hold_s=hold_s,
            **kw,
        )

    def measure(
        a_ml: float = 2.5,
        b_ml: float = 2.5,
        solvent_ml: float = 0.0,
        temperature_c: float = 60.0,
        hold_s: float = 60.0,
        stir_rpm: float = 500.0,
    ) -> Generator[Msg, Any, Any]:
        """Prepare one vial (stocks a, b, solvent in mL), react it, and measure it: one run.

        Args:
            a_ml: Millilitres of stock a.
            b_ml: Millilitres of stock b.
            solvent_ml: Millilitres of solvent.
            temperature_c: Reaction temperature in degC (15-150).
            hold_s: Reaction time in simulated seconds.
            stir_rpm: Stirring speed.
        """
        recipe = _recipe(a_ml, b_ml, solvent_ml, temperature_c, hold_s, stir_rpm=stir_rpm)
        yield from clear_stations(devices["robot"])
        return (yield from measure_recipe(recipe, **devices))

    def temperature_scan(
        temperatures_c: list,
        a_ml: float = 2.5,
        b_ml: float = 2.5,
        solvent_ml: float = 0.0,
        hold_s: float = 60.0,
    ) -> Generator[Msg, Any, Any]:
        """Measure one recipe at several temperatures: one run per temperature.

        Args:
            temperatures_c: Reaction temperatures in degC (at least one).
            a_ml: Millilitres of stock a.
            b_ml: Millilitres of stock b.
            solvent_ml: Millilitres of solvent.
            hold_s: Reaction time in simulated seconds.
        """
        recipes = [
            _recipe(a_ml, b_ml, solvent_ml, float(t), hold_s, params={"temperature_c": float(t)})
            for t in temperatures_c
        ]
        yield from clear_stations(devices["robot"])
        return (yield from recipe_scan(recipes, **devices))

    limits = parameter_limits(bench)
    return {
        "measure": with_limits(measure, limits),
        "temperature_scan": with_limits(temperature_scan, limits),
    }

"""Bluesky plans that prepare and measure recipes on the bench."""

from __future__ import annotations

import math
from collections.abc import Generator, Iterable, Mapping, Sequence
from typing import Any

import bluesky.plan_stubs as bps
import bluesky.preprocessors as bpp
from bluesky.utils import Msg
from ophyd import Device

from .recipe import Recipe
from .units import in_units_of

Plan = Generator[Msg, Any, Any]


def prepare_vial(
    recipe: Recipe,
    *,
    dispenser: Device,
    reactor: Device,
    robot: Device,
) -> Plan:
    """Fetch an empty vial, dispense, and react it; leave it in the reactor.

    A vial left at the dispense station, reactor or spectrometer by an
    interrupted run is moved to ``waste`` first.

    Each recipe value is given to its device in the device's own units: a
    reactor whose units are K (an EPICS hotplate's EGU) is sent 333.15 for
    ``temperature_c=60``, and likewise rpm, mL and s (see
    :func:`~smartlab_kernel.plans.units.in_units_of`). The run's metadata keeps
    the recipe in its own units.

    A reactor without ``stir_rpm`` (a plain hotplate) takes recipes with
    ``stir_rpm=0`` only. A reactor without a ``hold`` timer holds the vial for
    ``hold_s`` seconds of the RunEngine's clock (``bps.sleep``) once it is at
    temperature. In a :class:`~smartlab_kernel.session.Lab`, time paused or
    suspended does not count: the hold goes on for the rest of ``hold_s`` after
    resume, so a vial is never held for less.

    Args:
        recipe: What to make.
        dispenser: Has one settable pump per stock (``dispenser.<stock>``).
        reactor: Settable to a temperature; may have ``stir_rpm`` and ``hold``.
        robot: Settable to ``(source, destination)`` station pairs.

    Raises:
        ValueError: Before anything moves, if the recipe uses a stock the
            dispenser does not have, stirs on a reactor that cannot, or has a value
            that cannot be converted to its device's units.
    """
    unknown = [s for s in recipe.volumes_ml if s not in dispenser.component_names]
    if unknown:
        raise ValueError(
            f"recipe uses stocks {unknown} the dispenser does not have; "
            f"stocks: {list(dispenser.component_names)}"
        )
    stirrer = getattr(reactor, "stir_rpm", None)
    if stirrer is None and recipe.stir_rpm > 0:
        raise ValueError(
            f"recipe stir_rpm is {recipe.stir_rpm:g} rpm but reactor {reactor.name!r} has no "
            "stir_rpm to set; give the recipe stir_rpm=0 or use a reactor that stirs"
        )
    timer = getattr(reactor, "hold", None)
    temperature = yield from in_units_of(
        reactor, recipe.temperature_c, "degC", "recipe temperature_c"
    )
    heat: list[Any] = [reactor, temperature]
    if stirrer is not None:
        rpm = yield from in_units_of(stirrer, recipe.stir_rpm, "rpm", "recipe stir_rpm")
        heat = [stirrer, rpm, *heat]
    moves: list[Any] = []
    for stock, volume in recipe.volumes_ml.items():
        if volume > 0:
            pump = getattr(dispenser, stock)
            amount = yield from in_units_of(pump, volume, "mL", f"recipe volume of {stock!r}")
            moves += [pump, amount]
    yield from clear_stations(robot)
    yield from bps.mv(robot, ("supply", "dispense"))
    yield from bps.mv(*moves)
    yield from bps.mv(robot, ("dispense", "reactor"))
    yield from bps.mv(*heat)
    yield from bps.checkpoint()
    if timer is None:
        yield from bps.sleep(recipe.hold_s)
    else:
        seconds = yield from in_units_of(timer, recipe.hold_s, "s", "recipe hold_s")
        yield from bps.mv(timer, seconds)


def measure_recipe(
    recipe: Recipe,
    *,
    dispenser: Device,
    reactor: Device,
    robot: Device,
    spectrometer: Device,
    md: Mapping[str, Any] | None = None,
    dispose: bool = True,
    readables: Sequence[Any] = (),
) -> Plan:
    """Prepare and measure one recipe as one run: dispense -> heat -> hold -> move -> read.

    The run's start document carries the recipe (and its ``params``); the
    primary stream has one event with the spectrometer, reactor and
    dispenser readings, including the vial id. The spectrometer and
    ``readables`` are staged around the run, as ``bp.count`` stages its
    detectors (an areaDetector camera needs it).

    Args:
        recipe: What to make.
        dispenser: The stock dispenser.
        reactor: The reactor / hotplate.
        robot: The sample-handling robot.
        spectrometer: The detector.
        md: Extra start-document metadata (e.g. campaign or suggestion ids).
        dispose: Move the vial to ``waste`` after measuring (else it stays).
        readables: Further devices read in the same event (a stage, a room
            sensor), each in its own units.

    Returns:
        The run's uid (as ``yield from`` value).
    """
    metadata = {
        "plan_name": "measure_recipe",
        "recipe": recipe.as_dict(),
        "num_points": 1,
        **dict(md or {}),
    }

    @bpp.stage_decorator([spectrometer, *readables])  # as bp.count stages its detectors
    @bpp.run_decorator(md=metadata)
    def inner() -> Plan:
        yield from prepare_vial(recipe, dispenser=dispenser, reactor=reactor, robot=robot)
        yield from bps.mv(robot, ("reactor", "spectrometer"))
        measured = [spectrometer, reactor, dispenser, robot, *readables]
        readings = yield from bps.trigger_and_read(measured)
        check_finite(readings, f"{spectrometer.name}_readout")
        if dispose:
            yield from bps.mv(robot, ("spectrometer", "waste"))

    return (yield from inner())


def check_finite(readings: Mapping[str, Any] | None, key: str) -> None:
    """Raise if ``readings[key]`` is not a finite number (after it has been recorded).

    Raises:
        ValueError: Naming the reading and its value; the run then ends as failed
            with this reason, its event (with the NaN) kept in the catalog.
    """
    if not readings or key not in readings:
        return
    value = readings[key]["value"]
    try:
        finite = math.isfinite(float(value))
    except (TypeError, ValueError):
        finite = False
    if not finite:
        raise ValueError(
            f"{key} read {value!r}; a finite number was expected (the instrument returned "
            "no valid measurement: check it, then run the recipe again)"
        )


def recipe_scan(
    recipes: Iterable[Recipe],
    *,
    dispenser: Device,
    reactor: Device,
    robot: Device,
    spectrometer: Device,
    md: Mapping[str, Any] | None = None,
    readables: Sequence[Any] = (),
) -> Plan:
    """Measure a list of recipes, one run each, with per-point metadata.

    Each run's start document holds ``scan_index`` and ``scan_length`` so a
    browser can group them, plus ``md``. ``readables`` are read with each
    measurement (see :func:`measure_recipe`).

    Returns:
        The list of run uids.
    """
    recipe_list = list(recipes)
    uids = []
    for index, recipe in enumerate(recipe_list):
        point_md = {**dict(md or {}), "scan_index": index, "scan_length": len(recipe_list)}
        uid = yield from measure_recipe(
            recipe,
            dispenser=dispenser,
            reactor=reactor,
            robot=robot,
            spectrometer=spectrometer,
            md=point_md,
            readables=readables,
        )
        uids.append(uid)
    return uids


def clear_stations(
    robot: Device, stations: Iterable[str] = ("dispense", "reactor", "spectrometer")
) -> Plan:
    """Move any vial left at ``stations`` (e.g. by a failed run) to ``waste``.

    Works with robots on a simulated bench (they know which stations hold
    vials); on other robots it does nothing.
    """
    world = getattr(robot, "world", None)
    if world is None:
        return
    for station in stations:
        if world.vial_at(station) is not None:
            yield from bps.mv(robot, (station, "waste"))


def recipe_grid(base: Recipe, **axes: Iterable[float]) -> list[Recipe]:
    """Return every combination of ``axes`` applied to ``base``.

    Axis names are recipe conditions (``temperature_c``, ``hold_s``,
    ``stir_rpm``) or ``<stock>_ml`` for a stock volume.

    Raises:
        ValueError: If an axis name is none of those.
    """
    import itertools

    names = list(axes)
    allowed = ["temperature_c", "hold_s", "stir_rpm", *(f"{s}_ml" for s in base.volumes_ml)]
    bad = [n for n in names if n not in allowed]
    if bad:
        raise ValueError(f"unknown grid axes {bad}; allowed: {allowed}")
    grid = []
    for values in itertools.product(*(list(axes[n]) for n in names)):
        conditions = base.as_dict()
        volumes = dict(base.volumes_ml)
        point = dict(zip(names, values, strict=True))
        for name, value in point.items():
            if name.endswith("_ml"):
                volumes[name[:-3]] = value
            else:
                conditions[name] = value
        grid.append(
            Recipe(
                volumes_ml=volumes,
                temperature_c=conditions["temperature_c"],
                hold_s=conditions["hold_s"],
                stir_rpm=conditions["stir_rpm"],
                params=point,
            )
        )
    return grid

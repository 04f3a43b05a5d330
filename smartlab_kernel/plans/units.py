"""Recipe values in the units of the device that takes them.

A recipe is written in its own units (degC, rpm, mL, s); a device takes plain
numbers in *its* units (an EPICS device's EGU, a simulated signal's
``units``). :func:`in_units_of` converts a recipe value for the device it is
set on, inside a plan, so a hotplate whose IOC works in kelvin is sent
333.15 for a recipe's 60 degC, not 60.

A device's units are found, in this order, from

1. its ``egu`` (ophyd's ``EpicsMotor`` and ``PVPositioner``, this package's
   EPICS devices: the setpoint PV's EGU),
2. the description of its ``setpoint`` (or ``user_setpoint``) signal,
3. its own description, if it is a signal,
4. the description of its first hinted reading.

A device that declares no units there is given the number as is.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from typing import Any

import bluesky.plan_stubs as bps
from bluesky.utils import Msg

from ..devices.adapters.epics_units import in_device_units, pint_unit, unit_registry
from ..devices.adapters.ophyd_async_devices import is_ophyd_async_device

Plan = Generator[Msg, Any, Any]

#: Children whose description gives the units a device is set in.
SETPOINT_NAMES = ("setpoint", "user_setpoint")


def same_units(first: str, second: str) -> bool:
    """True if two unit strings name the same unit (``"C"`` and ``"degC"`` do).

    Units pint does not know are the same only when spelt the same.
    """
    if first.strip() == second.strip():
        return True
    try:
        return bool(pint_unit(first) == pint_unit(second))
    except ValueError:
        return False


def device_units(target: Any) -> Plan:
    """Find the units ``target`` is set in (see the module); ``""`` if it declares none.

    A plan stub: ophyd-async devices are described on the RunEngine's loop.

    Args:
        target: An ophyd or ophyd-async device or signal.

    Returns:
        The units (as ``yield from`` value).
    """
    egu = getattr(target, "egu", None)
    if isinstance(egu, str) and egu.strip():
        return egu.strip()
    for name in SETPOINT_NAMES:
        child = getattr(target, name, None)
        if child is not None and callable(getattr(child, "describe", None)):
            units = yield from _described_units(child, None)
            if units:
                return units
    if not callable(getattr(target, "describe", None)):
        return ""
    hints = getattr(target, "hints", None)
    fields = list(hints.get("fields", [])) if isinstance(hints, Mapping) else []
    return (yield from _described_units(target, fields[0] if fields else None))


def _described_units(target: Any, key: str | None) -> Plan:
    """The units in ``target``'s description: of ``key``, or of its only / own reading."""
    if is_ophyd_async_device(target):
        tasks = yield from bps.wait_for([target.describe])
        description = tasks[0].result()
    else:
        description = target.describe()
    if not description:
        return ""
    name = getattr(target, "name", None)
    if key is None:
        key = name if name in description else next(iter(description))
    units = description.get(key, {}).get("units")
    return str(units).strip() if units else ""


def in_units_of(target: Any, value: float, units: str, what: str) -> Plan:
    """Return ``value`` (in ``units``) as the number ``target`` takes, in its own units.

    A plan stub. The value is returned unchanged when the device declares no
    units or the same ones; otherwise it is converted with :mod:`pint`
    (60 degC to a device in K gives 333.15).

    Args:
        target: The device or signal the value will be set on.
        value: The value, in ``units``.
        units: Its units, e.g. ``"degC"``.
        what: What the value is, in errors, e.g. ``"recipe temperature_c"``.

    Returns:
        The number to set (as ``yield from`` value).

    Raises:
        ValueError: If the device's units are not of the same kind as ``units``
            (e.g. a recipe temperature for a device in mm), or unknown to pint;
            the message names the value, both units and the device.
    """
    device_unit = yield from device_units(target)
    if not device_unit or same_units(device_unit, units):
        return value
    name = getattr(target, "name", repr(target))
    quantity = unit_registry().Quantity(float(value), units)
    return in_device_units(quantity, device_unit, f"{what} for {name}")

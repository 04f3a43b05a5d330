"""Fields of ``kind: epics`` devices, which depend on their ``device_class``."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from .fields import Field, array, boolean, non_empty, number, one_of, positive, string, table


def _at_least_zero(value: Any) -> str | None:
    return None if math.isfinite(value) and value >= 0 else "a finite number >= 0"


def _pv_suffix(value: Any) -> str | None:
    return None if value.strip() and not any(c.isspace() for c in value) else "a PV suffix"


def _suffix(doc: str, default: Any = ...) -> Field:
    """A PV suffix field (required unless ``default`` is given)."""
    if default is ...:
        return string(check=_pv_suffix, doc=doc)
    return string(default, lambda v: None if v == "" else _pv_suffix(v), doc)


def _done_value(doc: str) -> Field:
    accepts = lambda v: isinstance(v, int | float | str) and not isinstance(v, bool)  # noqa: E731
    return Field("a number or a string", accepts, 1, None, doc)


def _exposure(doc: str) -> Field:
    def accepts(value: Any) -> bool:
        return value is None or (isinstance(value, int | float) and not isinstance(value, bool))

    def check(value: Any) -> str | None:
        return None if value is None or positive(value) is None else "a number > 0 s, or null"

    return Field("a number or null", accepts, None, check, doc)


EPICS_CLASSES: dict[str, dict[str, Field]] = {
    "reactor": {
        "pvs": table({}, doc="PV suffixes overriding the defaults, by component"),
        "settle_timeout": number(600.0, positive, "seconds a temperature change may take"),
        "tolerance": number(0.5, _at_least_zero, "largest |temperature - setpoint| that is there"),
    },
    "setpoint_readback": {
        "setpoint": _suffix("suffix of the setpoint PV (its limits and EGU count)"),
        "readback": _suffix("suffix of the readback PV"),
        "done": _suffix("suffix of a done PV the move also waits for ('' for none)", ""),
        "done_value": _done_value("value of the done PV that means done"),
        "tolerance": number(check=_at_least_zero, doc="largest |readback - target| that is there"),
        "settle_time": number(0.0, _at_least_zero, "seconds to wait once there"),
        "settle_timeout": number(600.0, positive, "seconds a change may take"),
        "put_complete": boolean(True, "wait for the IOC to complete (or refuse) each write"),
        "limits": array([], doc="[low, high] the lab allows, within the PV's control limits"),
    },
    "pv_positioner": {
        "setpoint": _suffix("suffix of the setpoint PV"),
        "readback": _suffix("suffix of the readback PV ('' for none)", ""),
        "done": _suffix("suffix of the done PV"),
        "done_value": _done_value("value of the done PV that means done"),
        "stop": _suffix("suffix of a stop PV ('' for none)", ""),
        "stop_value": _done_value("value written to the stop PV"),
        "settle_time": number(0.0, _at_least_zero, "seconds to wait once done"),
        "settle_timeout": number(600.0, positive, "seconds a move may take"),
        "limits": array([], doc="[low, high] the lab allows, within the PV's control limits"),
    },
    "motor": {
        "settle_timeout": number(600.0, positive, "seconds a move may take"),
    },
    "detector": {
        "acquire": _suffix("suffix of the acquire PV (written with put-completion)"),
        "acquire_value": _done_value("value written to acquire"),
        "reads": table(doc="name -> PV suffix of each value read after an acquisition"),
        "acquire_timeout": number(60.0, positive, "seconds one acquisition may take"),
    },
    "area_detector": {
        "cam": _suffix("suffix of the camera driver's PVs (cam1:Acquire, ...)", "cam1:"),
        "image": _suffix("suffix of the image plugin's PVs (image1:ArrayData, ...)", "image1:"),
        "acquire_time": _exposure("exposure set when staged, s (null: keep the IOC's)"),
        "acquire_timeout": number(60.0, positive, "seconds one acquisition may take"),
    },
}

#: Fields every ``kind: epics`` device has.
EPICS_COMMON: dict[str, Field] = {
    "device_class": string("reactor", one_of(*EPICS_CLASSES), "what the PVs are"),
    "prefix": string(check=non_empty, doc="PV prefix (a motor: the record's name)"),
    "connection_timeout": number(1.0, positive, "seconds to wait for a PV to connect"),
    "read_timeout": number(2.0, positive, "seconds to wait for a PV to answer"),
}


def epics_fields(given: Mapping[str, Any]) -> dict[str, Field]:
    """The fields allowed for an epics entry, by its ``device_class``.

    An unknown or mistyped ``device_class`` allows the fields of every class,
    so only the ``device_class`` itself is reported.
    """
    device_class = given.get("device_class", "reactor")
    if isinstance(device_class, str) and device_class in EPICS_CLASSES:
        return {**EPICS_COMMON, **EPICS_CLASSES[device_class]}
    fields = dict(EPICS_COMMON)
    for class_fields in EPICS_CLASSES.values():
        fields.update(class_fields)
    return fields


def check_epics(where: str, settings: Mapping[str, Any], problems: list[str]) -> None:
    """Check what field types alone do not: ``reads`` and ``limits``."""
    reads = settings.get("reads")
    if isinstance(reads, Mapping):
        if not reads:
            problems.append(f"{where}: reads: give at least one 'name: PV suffix'")
        for name, suffix in reads.items():
            if not isinstance(name, str) or not name.isidentifier() or name == "acquire":
                problems.append(
                    f"{where}: reads: name {name!r} must be an identifier other than 'acquire'"
                )
            if not isinstance(suffix, str) or _pv_suffix(suffix) is not None:
                problems.append(
                    f"{where}: reads: {name!r} = {suffix!r} must be a PV suffix, a non-empty "
                    "string such as 'COUNTS'"
                )
    limits = settings.get("limits")
    if isinstance(limits, list) and limits:
        numbers = [v for v in limits if isinstance(v, int | float) and not isinstance(v, bool)]
        if len(limits) != 2 or len(numbers) != 2 or not numbers[0] < numbers[1]:
            problems.append(
                f"{where}: field 'limits' = {limits!r} must be [low, high], two numbers with "
                "low < high (in the device's units), or [] for the PV's own limits"
            )

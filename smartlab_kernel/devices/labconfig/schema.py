"""The schema of the lab configuration file, and its validation with clear errors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..adapters.liquid_handler_backends import LIQUID_HANDLER_BACKENDS, backend_option_problems
from .epics_schema import EPICS_CLASSES, EPICS_COMMON, check_epics, epics_fields
from .errors import LabConfigError
from .fields import (
    Field,
    array,
    boolean,
    integer,
    non_empty,
    number,
    one_of,
    port_number,
    positive,
    string,
    table,
)
from .model import DeviceConfig, LabConfig

SIMULATED_MODELS = ("dispenser", "reactor", "spectrometer", "robot")
PYLABROBOT_DECKS = ("STARLetDeck", "STARDeck", "OTDeck")


def _class_path(value: Any) -> str | None:
    """Allow ``"package.module:Class"`` or ``"package.module.Class"``."""
    module, sep, name = value.partition(":") if ":" in value else value.rpartition(".")
    ok = sep and name.isidentifier() and all(p.isidentifier() for p in module.split("."))
    return None if ok else "'package.module:Class', e.g. 'ophyd_async.epics.motor:Motor'"


#: Fields of each device kind.
DEVICE_KINDS: dict[str, dict[str, Field]] = {
    "simulated": {
        "model": string(check=one_of(*SIMULATED_MODELS), doc="which simulated instrument"),
    },
    # the default device_class's fields; the others: epics_schema.EPICS_CLASSES
    "epics": {**EPICS_COMMON, **EPICS_CLASSES["reactor"]},
    "sila2": {
        "host": string("127.0.0.1", non_empty, "server host name or address"),
        "port": integer(check=port_number, doc="server port"),
        "insecure": boolean(True, "connect without TLS (trusted networks only)"),
        "feature": string("", doc="feature identifier to wrap (default: the only non-core one)"),
        "timeout": number(10.0, positive, "seconds a call may take before it fails"),
    },
    "pylabrobot": {
        "backend": string(
            "chatterbox", one_of(*LIQUID_HANDLER_BACKENDS), "PyLabRobot backend, by name"
        ),
        "backend_options": table({}, doc="keyword arguments of the backend (e.g. host)"),
        "num_channels": integer(1, lambda v: None if v >= 1 else "an integer >= 1", "channels"),
        "deck": string("STARLetDeck", one_of(*PYLABROBOT_DECKS), "deck class"),
        "resources": array([], doc="labware: list of {name, type, rails | slot}"),
        "tip_rack": string("", doc="name of the tip rack to take tips from"),
        "liquids": table({}, doc="initial volumes in uL, by well ('plate:A1')"),
        "volume_tracking": boolean(True, "let PyLabRobot track volumes (refuses overdraws)"),
        "new_tip_per_transfer": boolean(True, "discard the tip after each transfer"),
        "step_timeout": number(120.0, positive, "seconds one step may take"),
    },
    "ophyd_async": {
        "device_class": string(check=_class_path, doc="'package.module:Class' of the device"),
        "prefix": string("", doc="PV prefix, passed first when given (Motor('BL:MOT1'))"),
        "options": table({}, doc="further keyword arguments of the class"),
        "connection_timeout": number(10.0, positive, "seconds the signals may take to connect"),
        "mock": boolean(False, "connect to ophyd-async's mock signals (no instrument)"),
    },
}

SIMULATION_FIELDS: dict[str, Field] = {
    "seed": integer(0, doc="seed of every random draw"),
    "time_scale": number(1.0, positive, "simulated seconds per real second"),
    "device_timeout": number(30.0, positive, "real seconds before a stuck operation fails"),
}
TOP_LEVEL = ("lab", "simulation", "devices")
RESOURCE_FIELDS = ("name", "type", "rails", "slot")


def _check_fields(
    where: str, given: Mapping[str, Any], fields: Mapping[str, Field], problems: list[str]
) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    for key in given:
        if key not in fields:
            problems.append(f"{where}: unknown field {key!r}; allowed fields: {sorted(fields)}")
    for key, spec in fields.items():
        if key not in given:
            if spec.required:
                problems.append(
                    f"{where}: missing required field {key!r} ({spec.type_name}: {spec.doc})"
                )
            else:
                settings[key] = spec.default
            continue
        value = given[key]
        if not spec.accepts(value):
            problems.append(
                f"{where}: field {key!r} = {value!r} has the wrong type "
                f"{type(value).__name__}; it must be {spec.type_name}"
            )
            continue
        allowed = spec.check(value) if spec.check is not None else None
        if allowed is not None:
            problems.append(
                f"{where}: field {key!r} = {value!r} is not allowed; it must be {allowed}"
            )
            continue
        settings[key] = value
    return settings


def _check_resources(where: str, resources: list[Any], problems: list[str]) -> None:
    for index, item in enumerate(resources):
        at = f"{where}: resources[{index}]"
        if not isinstance(item, Mapping):
            problems.append(
                f"{at} = {item!r} must be a mapping with 'name', 'type' and 'rails' or 'slot'"
            )
            continue
        for key in item:
            if key not in RESOURCE_FIELDS:
                problems.append(f"{at}: unknown field {key!r}; allowed: {list(RESOURCE_FIELDS)}")
        for key in ("name", "type"):
            if not isinstance(item.get(key), str) or not item.get(key):
                problems.append(
                    f"{at}: field {key!r} = {item.get(key)!r} must be a non-empty string"
                )
        places = [k for k in ("rails", "slot") if k in item]
        if len(places) != 1:
            problems.append(
                f"{at}: give exactly one of 'rails' (Hamilton decks) or 'slot' "
                f"(Opentrons deck), got {places or 'neither'}"
            )
        for key in places:
            value = item[key]
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                problems.append(f"{at}: field {key!r} = {value!r} must be an integer >= 1")


def _check_labware_types(where: str, resources: list[Any], problems: list[str]) -> None:
    """Each labware ``type`` must be a resource definition of ``pylabrobot.resources``.

    Skipped when PyLabRobot is not installed (building the device then says so).
    """
    try:
        import pylabrobot.resources as plr_resources
    except ImportError:
        return
    for index, item in enumerate(resources):
        kind = item.get("type") if isinstance(item, Mapping) else None
        if isinstance(kind, str) and kind and not callable(getattr(plr_resources, kind, None)):
            problems.append(
                f"{where}: resources[{index}]: labware type {kind!r} is not a resource "
                "definition in pylabrobot.resources (e.g. 'cor_96_wellplate_360uL_Fb', "
                "'HTF_L', 'opentrons_96_tiprack_300ul')"
            )


def _check_backend_options(where: str, settings: Mapping[str, Any], problems: list[str]) -> None:
    """``backend_options`` must be parameters of the backend's class.

    Skipped when the backend is unknown (reported already) or PyLabRobot is not installed.
    """
    backend, options = settings.get("backend"), settings.get("backend_options")
    if backend not in LIQUID_HANDLER_BACKENDS or not isinstance(options, Mapping) or not options:
        return
    try:
        found = backend_option_problems(str(backend), options)
    except ImportError:
        return
    problems.extend(f"{where}: {problem}" for problem in found)


def _check_pvs(where: str, pvs: Mapping[str, Any], problems: list[str]) -> None:
    """``pvs`` keys must be the reactor's components and values PV suffixes (strings)."""
    from ..adapters.epics_reactor import DEFAULT_REACTOR_PVS, OPTIONAL_REACTOR_PVS

    for key, suffix in pvs.items():
        if key not in DEFAULT_REACTOR_PVS:
            problems.append(
                f"{where}: pvs: unknown component {key!r}; allowed: {sorted(DEFAULT_REACTOR_PVS)}"
            )
        elif suffix is None and key in OPTIONAL_REACTOR_PVS:
            continue
        elif not isinstance(suffix, str) or not suffix:
            optional = " (or null to leave it out)" if key in OPTIONAL_REACTOR_PVS else ""
            problems.append(
                f"{where}: pvs: {key!r} = {suffix!r} must be a PV suffix, a non-empty "
                f"string such as {DEFAULT_REACTOR_PVS[key]!r}{optional}"
            )


def _check_liquids(where: str, liquids: Mapping[str, Any], problems: list[str]) -> None:
    for well, volume in liquids.items():
        if isinstance(volume, bool) or not isinstance(volume, int | float) or volume < 0:
            problems.append(f"{where}: liquids[{well!r}] = {volume!r} must be a volume in uL >= 0")


def _check_device(name: Any, entry: Any, problems: list[str]) -> DeviceConfig | None:
    if not isinstance(name, str) or not name.isidentifier():
        problems.append(f"device name {name!r} must be an identifier (letters, digits, '_')")
        return None
    where = f"device {name!r}"
    if not isinstance(entry, Mapping):
        problems.append(f"{where}: must be a mapping of settings with a 'kind', got {entry!r}")
        return None
    kind = entry.get("kind")
    if kind is None:
        problems.append(f"{where}: missing required field 'kind'; allowed: {sorted(DEVICE_KINDS)}")
        return None
    if kind not in DEVICE_KINDS:
        problems.append(f"{where}: unknown kind {kind!r}; allowed kinds: {sorted(DEVICE_KINDS)}")
        return None
    given = {k: v for k, v in entry.items() if k != "kind"}
    before = len(problems)
    fields = DEVICE_KINDS[kind]
    label = f"{where} (kind {kind!r})"
    if kind == "epics":
        fields = epics_fields(given)
        device_class = given.get("device_class", "reactor")
        if device_class != "reactor" and device_class in EPICS_CLASSES:
            label = f"{where} (kind 'epics', device_class {device_class!r})"
    settings = _check_fields(label, given, fields, problems)
    if kind == "epics":
        if settings.get("device_class") == "reactor" and isinstance(settings.get("pvs"), Mapping):
            _check_pvs(where, settings["pvs"], problems)
        check_epics(where, settings, problems)
    if kind == "pylabrobot":
        if isinstance(settings.get("resources"), list):
            _check_resources(where, settings["resources"], problems)
            _check_labware_types(where, settings["resources"], problems)
        if isinstance(settings.get("liquids"), Mapping):
            _check_liquids(where, settings["liquids"], problems)
        _check_backend_options(where, settings, problems)
    if len(problems) > before:
        return None
    return DeviceConfig(name=name, kind=str(kind), settings=settings)


def validate_config(
    raw: Any,
    source: str = "<config>",
    lines: Mapping[str, int] | None = None,
    problems: list[str] | None = None,
) -> LabConfig:
    """Check a parsed configuration and return it with defaults filled in.

    Args:
        raw: What the YAML/TOML parser returned.
        source: Where it came from, for the error message.
        lines: Line of each device's entry in the file, to point at it.
        problems: Problems the parser already found (e.g. a device named
            twice), reported with the others.

    Raises:
        LabConfigError: Listing every problem (device, field, value, what is allowed).
    """
    problems = list(problems or ())
    if not isinstance(raw, Mapping):
        raise LabConfigError(
            [f"the file must hold a mapping with a 'devices' section, got {type(raw).__name__}"],
            source,
        )
    for key in raw:
        if key not in TOP_LEVEL:
            problems.append(f"unknown section {key!r}; allowed sections: {list(TOP_LEVEL)}")
    lab = raw.get("lab", {})
    name = ""
    if not isinstance(lab, Mapping):
        problems.append(f"section 'lab' must be a mapping, got {lab!r}")
    else:
        name = str(_check_fields("section 'lab'", lab, {"name": string("")}, problems)["name"])
    simulation_raw = raw.get("simulation", {})
    simulation: dict[str, Any] = {}
    if not isinstance(simulation_raw, Mapping):
        problems.append(f"section 'simulation' must be a mapping, got {simulation_raw!r}")
    else:
        simulation = _check_fields(
            "section 'simulation'", simulation_raw, SIMULATION_FIELDS, problems
        )
    devices_raw = raw.get("devices")
    devices: dict[str, DeviceConfig] = {}
    if not isinstance(devices_raw, Mapping) or not devices_raw:
        problems.append(
            f"section 'devices' must be a non-empty mapping of device name -> settings, "
            f"got {devices_raw!r}"
        )
    else:
        for device_name, entry in devices_raw.items():
            before = len(problems)
            device = _check_device(device_name, entry, problems)
            line = (lines or {}).get(device_name) if isinstance(device_name, str) else None
            if line is not None:  # point at the device's entry in the file
                problems[before:] = [f"line {line}: {problem}" for problem in problems[before:]]
            if device is not None:
                devices[device.name] = device
    if problems:
        raise LabConfigError(problems, source)
    return LabConfig(devices=devices, simulation=simulation, name=name, source=source)

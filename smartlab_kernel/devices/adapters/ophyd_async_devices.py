"""ophyd-async devices in a lab: built by class name, connected on Bluesky's event loop.

Any ophyd-async device class works (``ophyd_async.epics.motor:Motor``, your
own ``StandardReadable``); it is connected once, in parallel for all of its
signals, on the loop every :class:`~smartlab_kernel.session.Lab`'s RunEngine
runs on (see :mod:`~smartlab_kernel.devices.adapters.bluesky_loop`), so the
same RunEngine drives it and ophyd devices side by side.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Mapping
from typing import Any

from .bluesky_loop import is_awaitable, run_in_bluesky_loop

#: Separator of a device's name and its children's in data keys (``reactor_stir_rpm``),
#: as ophyd devices have it (ophyd-async's own default is ``-``).
CHILD_NAME_SEPARATOR = "_"


def is_ophyd_async_device(device: Any) -> bool:
    """True if ``device`` is an ophyd-async device.

    ophyd-async is not imported for this: when nothing imported it, no
    device can be one (and a lab without ophyd-async devices does not pay for it).
    """
    core = sys.modules.get("ophyd_async.core")
    return core is not None and isinstance(device, core.Device)


def load_device_class(path: str) -> type[Any]:
    """Import the ophyd-async device class at ``"package.module:Class"`` (or ``...module.Class``).

    Raises:
        ValueError: If the path has no module part, the module or class does not
            exist, or the class is not an ophyd-async device.
        ImportError: If ophyd-async is not installed.
    """
    from ophyd_async.core import Device

    module_name, sep, class_name = path.partition(":")
    if not sep:
        module_name, _, class_name = path.rpartition(".")
    example = "'ophyd_async.epics.motor:Motor'"
    if not module_name or not class_name:
        raise ValueError(f"device_class {path!r} must be 'package.module:Class', e.g. {example}")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise ValueError(f"device_class {path!r}: no module {module_name!r} ({exc})") from exc
    cls = getattr(module, class_name, None)
    if cls is None:
        raise ValueError(f"device_class {path!r}: module {module_name!r} has no {class_name!r}")
    if not isinstance(cls, type) or not issubclass(cls, Device):
        raise ValueError(
            f"device_class {path!r} is {cls!r}, not an ophyd-async Device class "
            f"(ophyd_async.core.Device), e.g. {example}"
        )
    return cls


def connect_device(device: Any, name: str, *, timeout: float = 10.0, mock: bool = False) -> None:
    """Name ``device`` and connect all its signals on Bluesky's event loop.

    Args:
        device: An ophyd-async device.
        name: Its name (prefix of its data keys).
        timeout: Seconds the signals may take to connect.
        mock: Connect to ophyd-async's mock signals instead of the instrument.

    Raises:
        NotConnectedError: Naming every signal (and its PV) that did not connect.
    """
    device.set_name(name, child_name_separator=CHILD_NAME_SEPARATOR)
    run_in_bluesky_loop(device.connect(mock=mock, timeout=timeout), timeout + 5.0)


def build_ophyd_async_device(
    name: str,
    *,
    device_class: str,
    prefix: str = "",
    options: Mapping[str, Any] | None = None,
    connection_timeout: float = 10.0,
    mock: bool = False,
) -> Any:
    """Build and connect an ophyd-async device, as the ``ophyd_async`` kind of a lab config.

    Args:
        name: The device's name.
        device_class: ``"package.module:Class"`` of an ophyd-async device.
        prefix: PV prefix, passed first when given (as ``Motor(prefix)`` takes it).
        options: Further keyword arguments of the class.
        connection_timeout: Seconds its signals may take to connect.
        mock: Connect to mock signals (no instrument needed).

    Raises:
        ValueError: If the class cannot be used or refuses the options.
        NotConnectedError: If a signal does not connect.
    """
    cls = load_device_class(device_class)
    args = (prefix,) if prefix else ()
    try:
        device = cls(*args, **dict(options or {}))
    except TypeError as exc:
        raise ValueError(
            f"{device_class} does not take prefix={prefix!r} and options {dict(options or {})}: "
            f"{exc}"
        ) from exc
    connect_device(device, name, timeout=connection_timeout, mock=mock)
    return device


def read_now(device: Any, method: str, timeout: float = 10.0) -> Any:
    """Call ``device.<method>()`` (``read``, ``read_configuration``, ...) and return its result.

    An ophyd-async device's method is awaited on Bluesky's event loop; an ophyd
    device's is returned as is.

    Raises:
        TimeoutError: If an ophyd-async device does not answer within ``timeout``.
    """
    result = getattr(device, method)()
    if is_awaitable(result):
        return run_in_bluesky_loop(result, timeout)
    return result


def check_connection(device: Any, timeout: float = 10.0) -> str:
    """Read an ophyd-async device and summarise what answered, with units.

    Raises:
        Exception: Whatever the device raises when it does not answer.
    """
    readings = read_now(device, "read", timeout)
    keys = read_now(device, "describe", timeout)
    values = []
    for key, reading in readings.items():
        units = keys.get(key, {}).get("units") or ""
        values.append(f"{key}={reading['value']!r}{' ' + units if units else ''}")
    return f"{type(device).__name__}: " + ", ".join(values)

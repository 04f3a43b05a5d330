"""The signals a DevicePanel shows, read and sets: of an ophyd device, or of an ophyd-async one.

An ophyd device's signals answer at once (``signal.get()``, ``signal.limits``,
``signal.metadata``). An ophyd-async device's signals are coroutines on
Bluesky's event loop: they are described once (units and control limits, from
``describe()``), read together in one call, and set from that loop, so a
panel treats both kinds alike through :func:`panel_signals`.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from ..devices.adapters.bluesky_loop import is_awaitable, run_in_bluesky_loop
from ..devices.adapters.ophyd_async_devices import is_ophyd_async_device

#: Seconds an ophyd-async read, description or move request may take to answer.
ASYNC_TIMEOUT_S = 5.0

#: A device's child that ``device.set(value)`` drives, so setting it moves the device.
SETPOINT_NAMES = ("setpoint", "user_setpoint")


class MoveStatus(Protocol):
    """What a panel needs of a move's status (ophyd's and ophyd-async's both have it)."""

    @property
    def success(self) -> bool:
        """True if the move finished as asked."""

    def add_callback(self, callback: Callable[[Any], None]) -> None:
        """Call ``callback(status)`` when the move ends."""


@dataclass(frozen=True)
class PanelSignal:
    """One signal as a panel shows it.

    Attributes:
        name: Dotted name within the device (``"setpoint"``, ``"hold.seconds"``).
        full_name: The signal's own name (``"reactor_setpoint"``), shown on hover.
        units: Engineering units (``""`` if none).
        limits: Control limits ``(low, high)``, or ``None``.
        writable: The signal can be written.
        signal: The ophyd or ophyd-async signal.
    """

    name: str
    full_name: str
    units: str
    limits: tuple[float, float] | None
    writable: bool
    signal: Any

    @property
    def settable(self) -> bool:
        """Writable with limits: a panel offers an entry (and can say what is allowed)."""
        return self.writable and self.limits is not None


def ophyd_units(signal: Any) -> str:
    """An ophyd signal's units: ``metadata["units"]`` (EPICS), else its ``units`` attribute."""
    metadata = getattr(signal, "metadata", None) or {}
    units = metadata.get("units") if isinstance(metadata, dict) else None
    return str(units or getattr(signal, "units", "") or "")


def ophyd_limits(signal: Any) -> tuple[float, float] | None:
    """An ophyd signal's control limits, ``None`` for ophyd's ``(0, 0)`` (no limits)."""
    try:
        low, high = signal.limits
        return valid_limits(low, high)
    except (AttributeError, TypeError, ValueError):
        return None


def valid_limits(low: Any, high: Any) -> tuple[float, float] | None:
    """``(low, high)`` as floats if they are finite and ``low < high``, else ``None``."""
    try:
        low, high = float(low), float(high)
    except (TypeError, ValueError):
        return None
    return (low, high) if math.isfinite(low) and math.isfinite(high) and low < high else None


class OphydSignals:
    """The signals of an ophyd device (its ``walk_signals``).

    Args:
        device: The ophyd device.
    """

    def __init__(self, device: Any) -> None:
        self.device = device
        self.signals: dict[str, PanelSignal] = {}
        for walk in device.walk_signals(include_lazy=False):
            signal = walk.item
            self.signals[walk.dotted_name] = PanelSignal(
                name=walk.dotted_name,
                full_name=signal.name,
                units=ophyd_units(signal),
                limits=ophyd_limits(signal),
                writable=bool(getattr(signal, "write_access", False)),
                signal=signal,
            )

    def limits(self, name: str) -> tuple[float, float] | None:
        """The control limits of ``name`` now (an EPICS PV reports them once connected)."""
        return ophyd_limits(self.signals[name].signal)

    def read(self) -> dict[str, Any]:
        """Every signal's value now, or the exception its read raised."""
        values: dict[str, Any] = {}
        for name, entry in self.signals.items():
            try:
                values[name] = entry.signal.get()
            except Exception as exc:
                values[name] = exc
        return values

    def check(self, name: str, value: float) -> float:
        """The signal's own checks of ``value`` (``coerce`` or ``check_value``).

        Raises:
            TypeError: If the signal refuses the type.
            ValueError: If the signal refuses the value (e.g. ophyd's ``LimitError``).
        """
        signal = self.signals[name].signal
        if callable(getattr(signal, "coerce", None)):
            return float(signal.coerce(value))
        signal.check_value(value)
        return value

    def move(self, name: str, value: float) -> Any:
        """Start setting ``name``: a device's setpoint moves the device (``device.set``)."""
        signal = self.signals[name].signal
        owner = signal.parent
        if signal.attr_name in SETPOINT_NAMES and owner is not None and callable(owner.set):
            return owner.set(value)
        return signal.set(value)

    def stop(self) -> None:
        """Stop the device."""
        self.device.stop()


class OphydAsyncSignals:
    """The signals of an ophyd-async device, used from any thread but Bluesky's loop.

    The signals the device reads come first (a motor's readback), then the
    setpoint that moves it, then the rest (configuration and the like), each
    group in the device's own order: an ophyd-async device declares its
    configuration first, which put a motor's position in the middle of two
    dozen rows.

    Args:
        device: The ophyd-async device (connected).
        timeout: Seconds each request may take.

    Raises:
        TimeoutError: If the signals cannot be described within ``timeout``.
    """

    def __init__(self, device: Any, timeout: float = ASYNC_TIMEOUT_S) -> None:
        from ophyd_async.core import SignalR, SignalW

        self.device = device
        self.timeout = float(timeout)
        found = dict(_walk_async(device))
        readable = {n: s for n, s in found.items() if isinstance(s, SignalR)}
        described = run_in_bluesky_loop(_describe_all(readable), self.timeout)
        readings = run_in_bluesky_loop(_reading_names(device), self.timeout)

        def rank(name: str) -> int:
            """What the device reads first, then the setpoint that moves it, then the rest."""
            signal = found[name]
            if signal.name in readings:
                return 0
            return 1 if _drives_device(device, signal) else 2

        self.signals = {}
        for name in sorted(found, key=rank):  # stable: device order within each group
            signal = found[name]
            key = described.get(name, {})
            control = key.get("limits", {}).get("control", {})
            self.signals[name] = PanelSignal(
                name=name,
                full_name=signal.name,
                units=str(key.get("units") or ""),
                limits=valid_limits(control.get("low"), control.get("high")),
                writable=isinstance(signal, SignalW),
                signal=signal,
            )
        self._readable = readable

    def limits(self, name: str) -> tuple[float, float] | None:
        """The control limits of ``name``, as described when the panel was made."""
        return self.signals[name].limits

    def read(self) -> dict[str, Any]:
        """Every readable signal's value now (one request for all), or its exception.

        A write-only signal reads as a :class:`TypeError` saying so.
        """
        names = list(self._readable)

        async def read_all() -> list[Any]:
            reads = (self._readable[n].get_value() for n in names)
            return list(await asyncio.gather(*reads, return_exceptions=True))

        try:
            results = run_in_bluesky_loop(read_all(), self.timeout)
        except Exception as exc:  # the loop or the IOC did not answer in time
            return {name: exc for name in self.signals}
        values: dict[str, Any] = dict(zip(names, results, strict=True))
        for name in self.signals:
            values.setdefault(name, TypeError("write-only signal"))
        return values

    def check(self, name: str, value: float) -> float:
        """ophyd-async signals have no checks of their own; the device checks when it moves."""
        return value

    def move(self, name: str, value: float) -> MoveStatus:
        """Start setting ``name`` on Bluesky's loop; a device's setpoint moves the device."""
        signal = self.signals[name].signal
        target = self.device if _drives_device(self.device, signal) else signal

        async def start() -> Any:
            return target.set(value)

        return _LoopStatus(run_in_bluesky_loop(start(), self.timeout))

    def stop(self) -> None:
        """Stop the device (``await device.stop()``) if it can be stopped.

        Raises:
            TypeError: If the device has no ``stop``.
        """
        stop = getattr(self.device, "stop", None)
        if not callable(stop):
            raise TypeError(f"{type(self.device).__name__} {self.device.name!r} cannot be stopped")
        result = stop()
        if is_awaitable(result):
            run_in_bluesky_loop(result, self.timeout)


def panel_signals(device: Any) -> OphydSignals | OphydAsyncSignals:
    """The signals of ``device``, whichever device library it comes from."""
    if is_ophyd_async_device(device):
        return OphydAsyncSignals(device)
    return OphydSignals(device)


class _LoopStatus:
    """An ophyd-async status seen from another thread: callbacks are added on its loop."""

    def __init__(self, status: Any) -> None:
        self.status = status

    @property
    def success(self) -> bool:
        return bool(self.status.success)

    def exception(self) -> BaseException | None:
        exc: BaseException | None = self.status.exception()
        return exc

    def add_callback(self, callback: Callable[[Any], None]) -> None:
        self.status.task.get_loop().call_soon_threadsafe(
            self.status.add_callback, lambda _status: callback(self)
        )


def _walk_async(device: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    from ophyd_async.core import Signal

    for name, child in device.children():
        dotted = f"{prefix}{name}"
        if isinstance(child, Signal):
            yield dotted, child
        else:
            yield from _walk_async(child, f"{dotted}.")


async def _describe_all(signals: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each signal's data key; one that cannot be described has none (no units, no limits)."""
    described = await asyncio.gather(
        *(s.describe() for s in signals.values()), return_exceptions=True
    )
    return {
        name: description.get(signal.name, {}) if isinstance(description, dict) else {}
        for (name, signal), description in zip(signals.items(), described, strict=True)
    }


async def _reading_names(device: Any) -> set[str]:
    """The data keys of ``device.describe()`` (its readings), or none if it cannot say."""
    describe = getattr(device, "describe", None)
    if not callable(describe):
        return set()
    try:
        result = describe()
        if is_awaitable(result):
            result = await result
        return set(result)
    except Exception:  # not readable as a whole: keep the device's own order
        return set()


def _drives_device(device: Any, signal: Any) -> bool:
    """True if ``signal`` is the setpoint ``device.set`` writes (a direct child so named)."""
    if not callable(getattr(device, "set", None)):
        return False
    return any(getattr(device, name, None) is signal for name in SETPOINT_NAMES)

"""A reactor / hotplate driven over EPICS Channel Access, configured by PV prefix."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ophyd import Component as Cpt
from ophyd import Device, EpicsSignal, EpicsSignalRO, Signal
from ophyd.signal import EpicsSignalBase
from ophyd.utils import DisconnectedError

from ..signals import check_number
from .epics_layer import ensure_control_layer, search_description
from .failures import not_answering, timed_out
from .progress_status import ProgressStatus
from .readback_settle import settle_on_readback

#: Component -> PV suffix (appended to the prefix) of the default reactor IOC.
DEFAULT_REACTOR_PVS: dict[str, str] = {
    "temperature": "TEMP_RBV",
    "setpoint": "TEMP_SP",
    "stir_readback": "STIR_RBV",
    "stir_setpoint": "STIR_SP",
    "time_constant": "TAU",
}
#: Components that may be left out (``None``) for IOCs without them.
OPTIONAL_REACTOR_PVS = frozenset({"time_constant"})
#: Errors the control layer raises when a PV does not answer.
CA_FAILURES = (TimeoutError, DisconnectedError, OSError)


class EpicsReadbackSignal(EpicsSignal):
    """A setpoint PV with its readback PV (``write_pv``), driven by its parent device.

    ``set(value)`` (``bps.mv(reactor.stir_rpm, 300)``) writes the setpoint and
    finishes when the readback is within ``tolerance``; like the reactor's
    temperature, it fails with an error naming the device and the PV when the
    IOC does not answer or the readback does not get there within the
    parent's ``settle_timeout``.
    """

    def set(self, value: Any, *, timeout: float | None = None, **kwargs: Any) -> ProgressStatus:
        """Write ``value``; the status finishes when the readback is within ``tolerance``.

        Args:
            value: The new setpoint.
            timeout: Seconds the readback may take (default: the parent's ``settle_timeout``).
            **kwargs: Ignored (accepted for :meth:`ophyd.Signal.set` callers).
        """
        device: EpicsReactorBase = self.parent
        units = self.metadata.get("units") or ""
        return device.drive(
            self,
            self,
            value,
            tolerance=float(self.tolerance or 0.0),
            unit=str(units),
            doing=f"setting {self.attr_name} to {value}{' ' + units if units else ''}",
            timeout=timeout,
        )


class EpicsReactorBase(Device):
    """Behaviour of an EPICS reactor; its PV components come from :func:`epics_reactor_class`.

    It mirrors :class:`~smartlab_kernel.devices.Reactor`: ``temperature``
    (readback), ``setpoint``, ``stir_rpm`` and ``tolerance``, and
    ``bps.mv(reactor, 80)`` finishes when the temperature readback is within
    ``tolerance`` of 80 degC.

    Args:
        prefix: PV prefix, e.g. ``"SIM:REACTOR:"``.
        settle_timeout: Seconds a temperature change may take before it fails.
        **kwargs: Passed to :class:`ophyd.Device` (``name`` is required).
    """

    tolerance = Cpt(Signal, value=0.5, kind="config")

    def __init__(self, prefix: str = "", *, settle_timeout: float = 600.0, **kwargs: Any) -> None:
        ensure_control_layer()
        super().__init__(prefix, **kwargs)
        self.settle_timeout = float(settle_timeout)

    def endpoint(self, signal: Signal | None = None) -> str:
        """Say where a signal (default: the temperature readback) is served."""
        signal = signal if signal is not None else self.temperature
        pv = getattr(signal, "pvname", signal.name)
        return f"EPICS PV {pv} ({search_description()})"

    def _unreachable(self, signal: Signal, doing: str, exc: BaseException) -> Exception:
        """The error for a failed Channel Access request to ``signal``'s PV.

        A request to a PV that is still connected but gets no answer in time (the
        IOC hangs) is a :class:`~smartlab_kernel.devices.errors.DeviceTimeoutError`;
        anything else (the IOC is gone) a
        :class:`~smartlab_kernel.devices.errors.DeviceDisconnectedError`.
        """
        endpoint = self.endpoint(signal)
        if isinstance(exc, TimeoutError) and getattr(signal, "connected", False):
            timeout = float(getattr(signal, "timeout", None) or 0.0)
            expected = "the IOC to answer (the PV is connected, but its IOC does not reply)"
            return timed_out(self.name, endpoint, doing, timeout, expected, exc)
        return not_answering(self.name, endpoint, doing, exc)

    def _wait_connected(self, doing: str, timeout: float | None = None) -> None:
        """Give PVs that are still connecting their connection timeout, then fail clearly."""
        if timeout is None:
            timeout = float(self.temperature.connection_timeout)
        try:
            self.wait_for_connection(timeout=timeout)
        except CA_FAILURES as exc:
            raise not_answering(self.name, self.endpoint(), doing, exc) from exc

    def read(self) -> dict[str, dict[str, Any]]:
        """Read the reactor; raise a clear error naming the PV if the IOC does not answer."""
        self._wait_connected("reading")
        try:
            return dict(super().read())
        except CA_FAILURES as exc:
            raise self._unreachable(self.temperature, "reading", exc) from exc

    def describe(self) -> dict[str, dict[str, Any]]:
        """Describe the readings; raise a clear error naming the PV if the IOC does not answer."""
        self._wait_connected("describing its readings")
        try:
            return dict(super().describe())
        except CA_FAILURES as exc:
            raise self._unreachable(self.temperature, "describing its readings", exc) from exc

    def read_configuration(self) -> dict[str, dict[str, Any]]:
        """Read the configuration; raise a clear error naming the PV if the IOC does not answer."""
        self._wait_connected("reading its configuration")
        try:
            return dict(super().read_configuration())
        except CA_FAILURES as exc:
            raise self._unreachable(self.temperature, "reading its configuration", exc) from exc

    def set(self, value: Any) -> ProgressStatus:
        """Heat or cool to ``value`` degC; the status finishes when the readback is there.

        The IOC must answer a read of the temperature before the setpoint is
        written, so a hung IOC is not left with a setpoint the step never confirmed.

        Raises:
            TypeError: If ``value`` is not a number.
            LimitError: If it is outside the setpoint PV's control limits.
            DeviceDisconnectedError: If the IOC is not connected.
            DeviceTimeoutError: If the IOC is connected but does not answer in time.
        """
        doing = "setting the temperature"
        self._wait_connected(doing)
        try:
            low, high = self.setpoint.limits
        except CA_FAILURES as exc:
            raise self._unreachable(self.setpoint, doing, exc) from exc
        if low >= high:
            low, high = -273.15, 10_000.0
        target = check_number(f"{self.name} temperature", value, low, high, "degC")
        return self.drive(
            self.setpoint,
            self.temperature,
            target,
            tolerance=float(self.tolerance.get()),
            unit="degC",
            doing=f"heating to {target:g} degC",
        )

    def drive(
        self,
        setpoint: EpicsSignal,
        readback: EpicsSignalBase,
        target: Any,
        *,
        tolerance: float,
        unit: str,
        doing: str,
        timeout: float | None = None,
    ) -> ProgressStatus:
        """Write ``target`` to ``setpoint``; the status finishes when ``readback`` is there.

        The IOC must answer a read of ``readback`` before anything is written, so
        a hung IOC is not left holding a setpoint that the step never confirmed.

        Args:
            setpoint: The signal written (its write PV).
            readback: The signal watched (its read PV); may be ``setpoint`` itself.
            target: The value to write and to reach.
            tolerance: Largest ``|readback - target|`` that counts as reached.
            unit: Units, for progress reports and errors.
            doing: What the step is, e.g. ``"heating to 80 degC"``.
            timeout: Seconds the readback may take (default: ``settle_timeout``).

        Raises:
            LimitError: If ``target`` is outside the setpoint PV's limits.
            DeviceDisconnectedError: If the IOC is not connected.
            DeviceTimeoutError: If the IOC is connected but does not answer in time.
        """
        try:
            readback.get()
        except CA_FAILURES as exc:
            raise self._unreachable(readback, doing, exc) from exc
        try:
            setpoint.put(target)
        except CA_FAILURES as exc:
            raise self._unreachable(setpoint, doing, exc) from exc
        status = ProgressStatus(self, unit=unit, call_stop_on_failure=False)
        try:
            settle_on_readback(
                status,
                readback,
                float(target),
                tolerance=tolerance,
                timeout=self.settle_timeout if timeout is None else float(timeout),
                doing=doing,
                endpoint=self.endpoint(readback),
            )
        except CA_FAILURES as exc:
            raise self._unreachable(readback, doing, exc) from exc
        return status

    def check_connection(self, timeout: float = 2.0) -> str:
        """Connect to every PV and return a one-line summary of what answered.

        Raises:
            DeviceDisconnectedError: If a PV does not connect within ``timeout`` s.
            DeviceTimeoutError: If the IOC is connected but does not answer a read.
        """
        self._wait_connected("connecting", timeout)
        try:
            temperature = float(self.temperature.get())
        except CA_FAILURES as exc:
            raise self._unreachable(self.temperature, "connecting", exc) from exc
        return f"{self.temperature.pvname} = {temperature:.2f} degC"


def epics_reactor_class(
    pvs: Mapping[str, str | None] | None = None,
    *,
    connection_timeout: float = 1.0,
    read_timeout: float = 2.0,
) -> type[EpicsReactorBase]:
    """Build an EPICS reactor class with other PV suffixes or timeouts.

    Args:
        pvs: Component -> PV suffix, overriding :data:`DEFAULT_REACTOR_PVS`
            (keys ``temperature``, ``setpoint``, ``stir_readback``,
            ``stir_setpoint``, ``time_constant``). ``time_constant`` may be
            ``None`` for IOCs that have no such PV.
        connection_timeout: Seconds to wait for a PV to connect.
        read_timeout: Seconds to wait for a PV to answer a read.

    Raises:
        ValueError: If a key is unknown or a required PV is ``None`` or empty.
    """
    chosen = dict(DEFAULT_REACTOR_PVS)
    for key, suffix in (pvs or {}).items():
        if key not in DEFAULT_REACTOR_PVS:
            raise ValueError(f"unknown reactor PV {key!r}; allowed: {sorted(DEFAULT_REACTOR_PVS)}")
        if suffix is None and key in OPTIONAL_REACTOR_PVS:
            chosen.pop(key)
            continue
        if not isinstance(suffix, str) or not suffix:
            raise ValueError(f"reactor PV {key!r} must be a non-empty string, got {suffix!r}")
        chosen[key] = suffix
    timeouts = {"connection_timeout": connection_timeout, "timeout": read_timeout}
    components: dict[str, Any] = {
        "temperature": Cpt(EpicsSignalRO, chosen["temperature"], kind="hinted", **timeouts),
        "setpoint": Cpt(EpicsSignal, chosen["setpoint"], kind="normal", **timeouts),
        "stir_rpm": Cpt(
            EpicsReadbackSignal,
            chosen["stir_readback"],
            write_pv=chosen["stir_setpoint"],
            tolerance=1.0,
            kind="normal",
            **timeouts,
        ),
    }
    if "time_constant" in chosen:
        components["time_constant"] = Cpt(
            EpicsSignal, chosen["time_constant"], kind="config", **timeouts
        )
    return type("EpicsReactor", (EpicsReactorBase,), components)


#: The reactor with the default PVs of :mod:`~smartlab_kernel.devices.adapters.reactor_ioc`:
#: ``EpicsReactor("SIM:REACTOR:", name="reactor")``.
EpicsReactor = epics_reactor_class()

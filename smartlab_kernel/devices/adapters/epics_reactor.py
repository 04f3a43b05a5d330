"""A reactor / hotplate driven over EPICS Channel Access, configured by PV prefix."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ophyd import Component as Cpt
from ophyd import EpicsSignal, EpicsSignalRO, Signal

from .epics_device import EpicsDeviceBase, control_limits
from .epics_drive import SetpointAxis, drive
from .progress_status import ProgressStatus

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


class EpicsReadbackSignal(EpicsSignal):
    """A readback PV with its setpoint PV (``write_pv``), driven by its parent device.

    ``set(value)`` (``bps.mv(reactor.stir_rpm, 300)``) goes through the parent's
    :meth:`EpicsReactorBase.set_stirring`: the value is checked against the
    setpoint PV's limits, written with put-completion (a write the IOC refuses
    fails at once) and the status finishes when the readback is within
    ``tolerance``. Its :attr:`limits` are the setpoint PV's.
    """

    def set(self, value: Any, *, timeout: float | None = None, **kwargs: Any) -> ProgressStatus:
        """Write ``value``; the status finishes when the readback is within ``tolerance``.

        Args:
            value: The new setpoint, in the PV's units or as a pint quantity.
            timeout: Seconds the readback may take (default: the parent's ``settle_timeout``).
            **kwargs: Ignored (accepted for :meth:`ophyd.Signal.set` callers).
        """
        device: EpicsReactorBase = self.parent
        return device.set_stirring(value, timeout=timeout)

    @property
    def limits(self) -> tuple[float, float]:
        """The control limits of the setpoint PV (``(0, 0)`` if it has none)."""
        limits = control_limits(self.parent.stir_setpoint)
        return limits if limits is not None else (0.0, 0.0)


class EpicsReactorBase(EpicsDeviceBase):
    """A reactor on EPICS PVs: two setpoint/readback pairs, temperature and stirring.

    It mirrors :class:`~smartlab_kernel.devices.Reactor`: ``temperature``
    (readback), ``setpoint``, ``stir_rpm`` and ``tolerance``, and
    ``bps.mv(reactor, 80)`` finishes when the temperature readback is within
    ``tolerance`` of 80 in the IOC's units (its EGU). It is the generic
    setpoint/readback drive (:func:`~smartlab_kernel.devices.adapters.epics_drive.drive`)
    applied to the reactor's PVs.

    Args:
        prefix: PV prefix, e.g. ``"SIM:REACTOR:"``.
        settle_timeout: Seconds a temperature change may take before it fails.
        **kwargs: Passed to :class:`ophyd.Device` (``name`` is required).
    """

    tolerance = Cpt(Signal, value=0.5, kind="config")

    def __init__(self, prefix: str = "", *, settle_timeout: float = 600.0, **kwargs: Any) -> None:
        super().__init__(prefix, **kwargs)
        self.settle_timeout = float(settle_timeout)

    @property
    def primary_readback(self) -> Signal:
        """The temperature readback."""
        readback: Signal = self.temperature
        return readback

    @property
    def primary_setpoint(self) -> EpicsSignal:
        """The temperature setpoint."""
        setpoint: EpicsSignal = self.setpoint
        return setpoint

    def set(self, value: Any) -> ProgressStatus:
        """Heat or cool to ``value``; the status finishes when the readback is there.

        ``value`` is in the IOC's units (the setpoint PV's EGU) or a pint quantity.

        Raises:
            TypeError: If ``value`` is not a number or a quantity.
            LimitError: If it is outside the setpoint PV's control limits.
            DeviceDisconnectedError: If the IOC is not connected.
            DeviceTimeoutError: If the IOC is connected but does not answer in time.
        """
        axis = SetpointAxis(
            "temperature",
            self.setpoint,
            self.temperature,
            tolerance=float(self.tolerance.get()),
            verb="heating to",
        )
        return drive(self, axis, value, self.settle_timeout)

    def set_stirring(self, value: Any, timeout: float | None = None) -> ProgressStatus:
        """Set the stirring; the status finishes when its readback is within 1 rpm (or unit).

        Raises:
            TypeError: If ``value`` is not a number or a quantity.
            LimitError: If it is outside the stirring setpoint PV's control limits.
            PutRefusedError: (in the status) If the IOC refuses the write.
            DeviceDisconnectedError: If the IOC is not connected.
            DeviceTimeoutError: If the IOC is connected but does not answer in time.
        """
        axis = SetpointAxis(
            "stir_rpm", self.stir_setpoint, self.stir_rpm, tolerance=float(self.stir_rpm.tolerance)
        )
        return drive(self, axis, value, self.settle_timeout if timeout is None else timeout)


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
        # the stirring setpoint PV itself: its limits and units, and put-completion
        "stir_setpoint": Cpt(EpicsSignal, chosen["stir_setpoint"], kind="omitted", **timeouts),
    }
    if "time_constant" in chosen:
        components["time_constant"] = Cpt(
            EpicsSignal, chosen["time_constant"], kind="config", **timeouts
        )
    return type("EpicsReactor", (EpicsReactorBase,), components)


#: The reactor with the default PVs of :mod:`~smartlab_kernel.devices.adapters.reactor_ioc`:
#: ``EpicsReactor("SIM:REACTOR:", name="reactor")``.
EpicsReactor = epics_reactor_class()

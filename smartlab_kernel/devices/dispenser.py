"""Stock-solution reservoirs with syringe pumps, grouped in a dispenser."""

from __future__ import annotations

import threading
from typing import Any

from ophyd import Component as Cpt
from ophyd import Signal
from ophyd.status import DeviceStatus

from .base import SimulatedDevice
from .errors import ReservoirEmptyError
from .signals import ComputedSignal, LimitedSignal, check_number

DISPENSE_STATION = "dispense"


class SyringePump(SimulatedDevice):
    """One stock-solution reservoir and the syringe pump that doses from it.

    ``pump.set(volume_ml)`` (``bps.mv(pump, 1.5)`` in a plan) dispenses that
    volume into the vial at the ``"dispense"`` station. The status finishes
    after ``volume / flow_rate`` simulated seconds. A dispense larger than what
    is left in the reservoir fails at once with :class:`ReservoirEmptyError`
    and changes nothing.
    """

    fault_kinds = ("timeout", "disconnect")

    remaining = Cpt(ComputedSignal, compute="_remaining_ml", units="mL", kind="hinted")
    dispensed = Cpt(Signal, value=0.0, kind="normal")
    volume = Cpt(LimitedSignal, value=0.0, limits=(0.0, 10.0), units="mL", kind="config")
    capacity = Cpt(Signal, value=50.0, kind="config")
    flow_rate = Cpt(LimitedSignal, value=0.5, limits=(0.01, 5.0), units="mL/s", kind="config")

    def __init__(
        self, prefix: str = "", *, stock: str = "", capacity_ml: float = 50.0, **kwargs: Any
    ) -> None:
        super().__init__(prefix, **kwargs)
        self.stock = stock or self.attr_name or self.name
        self.capacity.put(float(capacity_ml))
        self._remaining = float(self.capacity.get())
        self._reserved = 0.0
        self._volume_lock = threading.Lock()

    def _remaining_ml(self) -> float:
        return self._remaining

    def fill(self, volume_ml: float | None = None) -> None:
        """Fill the reservoir to ``volume_ml`` (default: its capacity).

        Raises:
            LimitError: If the volume is negative or more than the capacity.
        """
        capacity = float(self.capacity.get())
        target = capacity if volume_ml is None else volume_ml
        target = check_number(f"{self.name} fill volume", target, 0.0, capacity, "mL")
        with self._volume_lock:
            self._remaining = target

    def set(self, value: Any) -> DeviceStatus:
        """Dispense ``value`` millilitres into the vial at the dispense station."""
        self.check_connected()
        volume_ml = self.volume.coerce(value, f"{self.name} dispense volume")
        vial = self.world.require_vial(DISPENSE_STATION, f"dispense {self.stock}")
        with self._volume_lock:
            available = self._remaining - self._reserved
            if volume_ml > available + 1e-12:
                raise ReservoirEmptyError(
                    f"{self.name}: cannot dispense {volume_ml:g} mL of {self.stock!r}, only "
                    f"{max(available, 0.0):g} mL left in the reservoir; refill it with "
                    f"{self.name}.fill() or dispense at most {max(available, 0.0):g} mL"
                )
            self._reserved += volume_ml
        self.volume.put(volume_ml)

        def finish() -> None:
            with self._volume_lock:
                self._reserved = max(0.0, self._reserved - volume_ml)
                self._remaining -= volume_ml
            vial.add(self.stock, volume_ml)
            self.dispensed.put(volume_ml)

        status = self.timed_status(
            volume_ml / float(self.flow_rate.get()), finish, f"dispensing {volume_ml:g} mL"
        )

        def release_on_failure(st: DeviceStatus) -> None:
            if not st.success:
                with self._volume_lock:
                    self._reserved = max(0.0, self._reserved - volume_ml)

        status.add_callback(release_on_failure)
        return status

    def stop(self, *, success: bool = False) -> None:
        """Cancel dispenses in progress; their reserved volume is available again."""
        super().stop(success=success)
        with self._volume_lock:
            self._reserved = 0.0


def make_dispenser_class(stocks: dict[str, float]) -> type[SimulatedDevice]:
    """Build a dispenser device class with one :class:`SyringePump` per stock.

    Args:
        stocks: Stock name -> reservoir capacity in mL. Names must be valid
            Python identifiers (they become attributes, e.g. ``dispenser.acid``).

    Raises:
        ValueError: If a name is not an identifier or a capacity is not positive.
    """
    if not stocks:
        raise ValueError("a dispenser needs at least one stock solution, got none")
    components: dict[str, Any] = {}
    for stock, capacity in stocks.items():
        if not stock.isidentifier() or stock.startswith("_"):
            raise ValueError(
                f"stock name {stock!r} must be a Python identifier not starting with '_' "
                "(letters, digits, underscores)"
            )
        check_number(f"capacity of stock {stock!r}", capacity, 1e-9, 1e6, "mL")
        components[stock] = Cpt(SyringePump, stock=stock, capacity_ml=float(capacity))
    return type("Dispenser", (Dispenser,), components)


class Dispenser(SimulatedDevice):
    """A group of syringe pumps, one per stock solution (see :func:`make_dispenser_class`)."""

    def pumps(self) -> dict[str, SyringePump]:
        """Return ``{stock name: pump}``."""
        return {name: getattr(self, name) for name in self.component_names}

    def remaining(self) -> dict[str, float]:
        """Return the millilitres left in each reservoir."""
        return {name: float(pump.remaining.get()) for name, pump in self.pumps().items()}

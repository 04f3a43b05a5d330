"""A vial on the bench and what has been done to it (its recipe so far)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Vial:
    """A vial whose contents and treatment decide what the spectrometer sees.

    Attributes:
        vial_id: Short printable id.
        volumes_ml: Millilitres of each stock solution dispensed into it.
        temperature_c: Mean reaction temperature while held in the reactor.
        hold_s: Simulated seconds spent reacting.
        stir_rpm: Stirring speed during the reaction.
        extra: Other recipe conditions a response model may need.
    """

    vial_id: str
    volumes_ml: dict[str, float] = field(default_factory=dict)
    temperature_c: float = 25.0
    hold_s: float = 0.0
    stir_rpm: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def add(self, stock: str, volume_ml: float) -> None:
        """Record that ``volume_ml`` of ``stock`` went in."""
        self.volumes_ml[stock] = self.volumes_ml.get(stock, 0.0) + volume_ml

    def react(self, temperature_c: float, seconds: float, stir_rpm: float) -> None:
        """Record a reaction step, keeping a time-weighted mean temperature."""
        total = self.hold_s + seconds
        if total > 0:
            self.temperature_c = (
                self.temperature_c * self.hold_s + temperature_c * seconds
            ) / total
            self.stir_rpm = (self.stir_rpm * self.hold_s + stir_rpm * seconds) / total
        self.hold_s = total

    @property
    def total_volume_ml(self) -> float:
        """Total liquid volume in the vial."""
        return sum(self.volumes_ml.values())

    def conditions(self, stocks: Iterable[str] = ()) -> dict[str, Any]:
        """Return every recipe condition by name, as a response model sees them.

        Keys: ``<stock>_ml`` and ``<stock>_fraction`` per stock, ``temperature_c``,
        ``hold_s``, ``stir_rpm``, ``total_ml``, and everything in :attr:`extra`.

        Args:
            stocks: Every stock the bench has. One never dispensed into this
                vial reads 0 mL, so a mixture with a zero fraction (a corner
                of the simplex) is measured like any other.
        """
        total = self.total_volume_ml
        out: dict[str, Any] = {
            "temperature_c": self.temperature_c,
            "hold_s": self.hold_s,
            "stir_rpm": self.stir_rpm,
            "total_ml": total,
        }
        volumes = {**dict.fromkeys(stocks, 0.0), **self.volumes_ml}
        for stock, volume in volumes.items():
            out[f"{stock}_ml"] = volume
            out[f"{stock}_fraction"] = volume / total if total > 0 else 0.0
        out.update(self.extra)
        return out

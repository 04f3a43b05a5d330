"""A UV-vis spectrometer: a spectrum array and a scalar readout, with noise."""

from __future__ import annotations

from typing import Any

import numpy as np
from ophyd import Component as Cpt
from ophyd import Signal
from ophyd.status import DeviceStatus

from .base import SimulatedDevice
from .response import AnalyticResponse, ResponseModel
from .signals import LimitedSignal

SPECTROMETER_STATION = "spectrometer"


class Spectrometer(SimulatedDevice):
    """Measures the vial at the ``"spectrometer"`` station when triggered.

    The response model gives the true value of what is measured (e.g. yield);
    ``readout`` is that value plus Gaussian noise, and ``spectrum`` is an
    absorbance band at ``peak_nm`` whose height is proportional to it, on a
    baseline, with detector noise. Every draw comes from the bench's seeded
    generator.

    Args:
        response: The response model (default :class:`AnalyticResponse`).
        points: Number of wavelengths in the spectrum.
        wavelength_range: ``(first, last)`` wavelength in nm.
    """

    fault_kinds = ("timeout", "disconnect", "nan")

    readout = Cpt(Signal, value=0.0, kind="hinted")
    peak_absorbance = Cpt(Signal, value=0.0, kind="normal")
    spectrum = Cpt(Signal, kind="normal")
    vial_id = Cpt(Signal, value="", kind="normal")
    integration_time = Cpt(LimitedSignal, value=2.0, limits=(0.01, 600.0), units="s", kind="config")
    peak_nm = Cpt(Signal, value=520.0, kind="config")

    def __init__(
        self,
        prefix: str = "",
        *,
        response: ResponseModel | None = None,
        points: int = 200,
        wavelength_range: tuple[float, float] = (350.0, 750.0),
        **kwargs: Any,
    ) -> None:
        super().__init__(prefix, **kwargs)
        if not isinstance(points, int) or points < 2:
            raise ValueError(f"points must be an integer >= 2, got {points!r}")
        self.response: ResponseModel = response or AnalyticResponse()
        self.wavelengths = np.linspace(*wavelength_range, points)
        self.spectrum.put(np.zeros(points))

    def describe(self) -> dict[str, dict[str, Any]]:
        """Describe the readings, with the spectrum's shape and the readout's units."""
        desc = super().describe()
        desc[self.spectrum.name].update(shape=[len(self.wavelengths)], dtype="array")
        desc[self.readout.name]["units"] = self.response.units
        desc[self.readout.name]["measures"] = self.response.name
        return desc

    def trigger(self) -> DeviceStatus:
        """Measure the vial at the spectrometer station (takes the integration time)."""
        self.check_connected()
        vial = self.world.require_vial(SPECTROMETER_STATION, "measure")

        def acquire() -> None:
            rng = self.world.rng
            value = self.response.true_value(vial.conditions(self.world.stocks))
            value += (
                float(rng.normal(0.0, self.response.noise_std)) if self.response.noise_std else 0.0
            )
            height = 1.2 * value / self.response.full_scale
            band = height * np.exp(
                -0.5 * ((self.wavelengths - float(self.peak_nm.get())) / 35.0) ** 2
            )
            spectrum = 0.02 + band + rng.normal(0.0, 0.003, len(self.wavelengths))
            if self.faults.active("nan"):
                value = float("nan")
                spectrum = np.full(len(self.wavelengths), np.nan)
            self.vial_id.put(vial.vial_id)
            self.spectrum.put(spectrum)
            self.peak_absorbance.put(float(np.max(spectrum)))
            self.readout.put(value)

        return self.timed_status(float(self.integration_time.get()), acquire, "a measurement")

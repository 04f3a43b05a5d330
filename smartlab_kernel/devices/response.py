"""Response models: what the spectrometer sees, given what was done to a vial."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class ResponseModel(Protocol):
    """Decides the true value the instrument measures from a vial's conditions.

    Attributes:
        name: Name of the measured quantity (becomes the readout's meaning,
            e.g. ``"yield"``).
        units: Its units.
        noise_std: Standard deviation of the measurement noise, in ``units``.
        full_scale: A value at the top of the usual range, used to scale the spectrum.
    """

    name: str
    units: str
    noise_std: float
    full_scale: float

    def true_value(self, conditions: Mapping[str, Any]) -> float:
        """Return the noise-free response for a vial's conditions (see ``Vial.conditions``)."""
        ...


class AnalyticResponse:
    """A smooth, known reaction model: yield of A + B -> P -> D, in percent.

    The product forms with rate ``k1(T)`` and decomposes with a faster-rising
    rate ``k2(T)`` (both Arrhenius), so there is a best temperature and a best
    hold time; stirring scales ``k1`` (mass transfer), and selectivity peaks
    at a volume fraction ``best_fraction`` of stock ``reagent_a``::

        P(t) = k1 / (k2 - k1) * (exp(-k1 t) - exp(-k2 t))
        yield = 100 * P(t) * exp(-((f_a - best_fraction) / 0.25) ** 2)

    With the defaults and holds of up to 30 minutes, the best yield is about
    82 % (near 55 degC, a 30-minute hold, fast stirring, ``f_a = 0.6``);
    hotter runs decompose the product, colder ones do not finish.

    Args:
        reagent_a: Stock whose volume fraction sets the selectivity.
        best_fraction: Fraction of ``reagent_a`` with the best selectivity.
        noise_std: Measurement noise in percent.
        rate_at_60c: ``k1`` at 60 degC, 1/s.
        decomposition_ratio: ``k2 / k1`` at 60 degC.
    """

    name = "yield"
    units = "%"
    full_scale = 100.0

    def __init__(
        self,
        reagent_a: str = "a",
        best_fraction: float = 0.6,
        noise_std: float = 0.5,
        rate_at_60c: float = 0.002,
        decomposition_ratio: float = 0.1,
        activation_k: float = 6000.0,
        decomposition_activation_k: float = 14000.0,
    ) -> None:
        self.reagent_a = reagent_a
        self.best_fraction = best_fraction
        self.noise_std = noise_std
        self.rate_at_60c = rate_at_60c
        self.decomposition_ratio = decomposition_ratio
        self.activation_k = activation_k
        self.decomposition_activation_k = decomposition_activation_k

    def settings(self) -> dict[str, Any]:
        """How to build this model again (recorded with every run): ``response_from_settings``."""
        return {
            "kind": "analytic",
            "reagent_a": self.reagent_a,
            "best_fraction": self.best_fraction,
            "noise_std": self.noise_std,
            "rate_at_60c": self.rate_at_60c,
            "decomposition_ratio": self.decomposition_ratio,
            "activation_k": self.activation_k,
            "decomposition_activation_k": self.decomposition_activation_k,
        }

    def true_value(self, conditions: Mapping[str, Any]) -> float:
        """Return the yield in percent (0 when the vial is empty)."""
        if float(conditions.get("total_ml", 0.0)) <= 0.0:
            return 0.0
        inverse_t = 1 / (float(conditions.get("temperature_c", 25.0)) + 273.15) - 1 / 333.15
        mixing = 1.0 - 0.6 * math.exp(-float(conditions.get("stir_rpm", 0.0)) / 300.0)
        k1 = self.rate_at_60c * mixing * math.exp(-self.activation_k * inverse_t)
        k2 = (
            self.rate_at_60c
            * self.decomposition_ratio
            * math.exp(-self.decomposition_activation_k * inverse_t)
        )
        t = float(conditions.get("hold_s", 0.0))
        if abs(k2 - k1) < 1e-12:
            product = k1 * t * math.exp(-k1 * t)
        else:
            product = k1 / (k2 - k1) * (math.exp(-k1 * t) - math.exp(-k2 * t))
        fraction = float(conditions.get(f"{self.reagent_a}_fraction", 0.0))
        selectivity = math.exp(-(((fraction - self.best_fraction) / 0.25) ** 2))
        return 100.0 * product * selectivity


def response_settings(model: ResponseModel) -> dict[str, Any] | None:
    """``model.settings()`` if the model can describe how to rebuild itself, else ``None``."""
    settings = getattr(model, "settings", None)
    return dict(settings()) if callable(settings) else None


def response_from_settings(settings: Mapping[str, Any]) -> ResponseModel:
    """Build the response model that ``settings`` (from ``model.settings()``) describe.

    Raises:
        ValueError: If the kind is unknown (a custom model: pass it yourself).
        FileNotFoundError: If a dataset model's folder is gone.
    """
    values = dict(settings)
    kind = values.pop("kind", None)
    if kind == "analytic":
        return AnalyticResponse(**values)
    if kind == "dataset":
        from .dataset_response import DatasetResponse

        return DatasetResponse(
            values["directory"],
            objective=values.get("objective"),
            input_map=values.get("input_map") or None,
            seed=int(values.get("seed", 0)),
        )
    raise ValueError(
        f"cannot rebuild a response model of kind {kind!r} (known: 'analytic', 'dataset'); "
        "pass the model yourself"
    )

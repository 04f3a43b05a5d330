"""The figure helpers: labels with units, readable quantities, whole-number ticks."""

from __future__ import annotations

import pytest
from matplotlib.axes import Axes

from smartlab_kernel.widgets import _figure


@pytest.mark.parametrize(
    ("field", "units", "expected"),
    [
        ("recipe.temperature_c", None, "Temperature (degC)"),
        ("hold.seconds", None, "Hold (s)"),
        ("hood_1_face_velocity_m_s", None, "Hood 1 face velocity (m/s)"),
        ("supply_flow_m3_s", None, "Supply flow (m³/s)"),
        ("spectrometer_readout", None, "Spectrometer readout"),
        ("setpoint", "degC", "Setpoint (degC)"),
        ("reactor_temperature", "K", "Reactor temperature (K)"),
        ("co2_ppm", None, "CO2 (ppm)"),
    ],
)
def test_label(field: str, units: str | None, expected: str) -> None:
    assert _figure.label(field, units) == expected


@pytest.mark.parametrize(
    ("value", "units", "expected"),
    [
        (5470.0, "W", "5.47 kW"),
        (5.47e6, "W", "5.47 MW"),
        (0.0065, "Wh", "6.5 mWh"),
        (0.0, "W", "0 W"),
        (12345.6, "ppm", "12,346 ppm"),
        (6.5e-06, "kWh", "0.0000065 kWh"),
        (418.167, "ppm", "418 ppm"),
        (3, "", "3"),
        (float("nan"), "W", "unreadable"),
    ],
)
def test_quantity(value: float, units: str, expected: str) -> None:
    assert _figure.quantity(value, units) == expected


def test_integer_ticks_on_a_count_axis_even_for_one_point() -> None:
    def draw(axes: list[Axes]) -> None:
        axes[0].plot([1], [0.5], "o")
        _figure.integer_ticks(axes[0], "x", count=1)

    (ax,) = _figure.figure(draw).axes
    low, high = ax.get_xlim()
    ticks = [t for t in ax.get_xticks() if low <= t <= high]
    assert ticks == [1.0]

"""Response models against known answers: the analytic reaction and a dataset fit."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from smartlab_kernel.devices import AnalyticResponse, DatasetResponse, ResponseModel, build_bench
from smartlab_kernel.devices.dataset_response import find_datasets
from smartlab_kernel.testing import missing_component


def _datasets() -> Path:
    try:
        return find_datasets()
    except FileNotFoundError:  # the tests that need a dataset report it missing
        return Path("shared/benchmarks/datasets")


DATASETS = _datasets()
CROSSED_BARREL = DATASETS / "crossed_barrel"
FAST_STIR = 1e6  # mixing factor 1 - 0.6 exp(-rpm / 300) == 1


def conditions(temperature_c: float, hold_s: float, stir_rpm: float, fraction_a: float) -> dict:
    return {
        "temperature_c": temperature_c,
        "hold_s": hold_s,
        "stir_rpm": stir_rpm,
        "a_fraction": fraction_a,
        "total_ml": 5.0,
    }


@pytest.mark.parametrize(
    ("temperature_c", "hold_s", "stir_rpm", "fraction_a", "expected"),
    [
        # at 60 degC k1 = 0.002/s and k2 = 0.0002/s; P(1000 s) = -1/0.9 * (e^-2 - e^-0.2)
        (60.0, 1000.0, FAST_STIR, 0.6, 75.93283),
        # selectivity exp(-((0.85 - 0.6) / 0.25)^2) = e^-1
        (60.0, 1000.0, FAST_STIR, 0.85, 75.93283 / math.e),
        # stirring at 300 rpm: k1 = 0.002 * (1 - 0.6 / e)
        (60.0, 1000.0, 300.0, 0.6, 69.78387),
        (60.0, 0.0, FAST_STIR, 0.6, 0.0),  # nothing formed yet
    ],
)
def test_analytic_response_known_values(
    temperature_c: float, hold_s: float, stir_rpm: float, fraction_a: float, expected: float
) -> None:
    model = AnalyticResponse()
    value = model.true_value(conditions(temperature_c, hold_s, stir_rpm, fraction_a))
    assert value == pytest.approx(expected, abs=1e-3)


def test_analytic_response_has_the_documented_optimum() -> None:
    model = AnalyticResponse()
    temperatures = np.arange(30.0, 100.0, 1.0)
    holds = np.arange(60.0, 1801.0, 60.0)
    values = np.array(
        [[model.true_value(conditions(t, h, FAST_STIR, 0.6)) for h in holds] for t in temperatures]
    )
    best_t, best_h = np.unravel_index(values.argmax(), values.shape)
    assert 78.0 <= values.max() <= 86.0
    assert 50.0 <= temperatures[best_t] <= 60.0
    assert holds[best_h] == 1800.0
    hot = model.true_value(conditions(95.0, 1800.0, FAST_STIR, 0.6))
    cold = model.true_value(conditions(30.0, 1800.0, FAST_STIR, 0.6))
    assert hot < values.max() - 20 and cold < values.max() - 20


def test_analytic_response_is_zero_for_an_empty_vial() -> None:
    assert AnalyticResponse().true_value({"temperature_c": 60.0, "hold_s": 900.0}) == 0.0
    assert isinstance(AnalyticResponse(), ResponseModel)


@pytest.fixture(scope="module")
def crossed_barrel() -> DatasetResponse:
    return DatasetResponse(CROSSED_BARREL)


def test_dataset_response_reproduces_the_data_within_its_noise(
    crossed_barrel: DatasetResponse,
) -> None:
    data = pd.read_csv(CROSSED_BARREL / "data.csv")
    predicted = np.array([crossed_barrel.true_value(row) for row in data.to_dict("records")])
    residual = predicted - data["toughness"].to_numpy()
    rms = float(np.sqrt(np.mean(residual**2)))
    assert crossed_barrel.name == "toughness" and crossed_barrel.goal == "maximize"
    assert 0 < crossed_barrel.noise_std < 0.5 * data["toughness"].std()  # the fit explains a lot
    assert rms <= crossed_barrel.noise_std  # in-sample error within the held-out noise
    assert np.mean(np.abs(residual) <= 3 * crossed_barrel.noise_std) > 0.97
    assert crossed_barrel.full_scale == pytest.approx(data["toughness"].abs().max())


def test_dataset_response_drives_the_spectrometer(crossed_barrel: DatasetResponse) -> None:
    data = pd.read_csv(CROSSED_BARREL / "data.csv")
    row = data.iloc[123].to_dict()
    bench = build_bench(seed=3, time_scale=10_000.0, response=crossed_barrel)
    vial = bench.world.new_vial("spectrometer")
    vial.extra.update({k: row[k] for k in ("n", "theta", "r", "t")})
    bench.spectrometer.integration_time.put(0.01)
    bench.spectrometer.trigger().wait(5)
    readout = bench.spectrometer.readout.get()
    assert readout == pytest.approx(row["toughness"], abs=5 * crossed_barrel.noise_std)
    assert bench.settings["response"] == "DatasetResponse"
    assert bench.spectrometer.describe()["spectrometer_readout"]["measures"] == "toughness"


def test_a_stock_never_dispensed_is_measured_as_a_zero_fraction() -> None:
    # A corner of the mixture simplex: two of four stocks are 0, so the dispenser
    # never moves them. The response still needs their fractions (0), which once
    # failed the measurement with a KeyError and taught a planner that corners fail.
    folder = DATASETS / "photo_pce10"
    if not folder.is_dir():
        missing_component(f"the photo_pce10 dataset is not at {folder}")
    materials = [f"mat_{i}" for i in range(1, 5)]
    model = DatasetResponse(folder, input_map={m: f"{m}_fraction" for m in materials})
    bench = build_bench(
        seed=3, time_scale=10_000.0, response=model, stocks=dict.fromkeys(materials, 100.0)
    )
    vial = bench.world.new_vial("spectrometer")
    vial.add("mat_2", 1.0)
    vial.add("mat_3", 3.0)
    assert vial.conditions(bench.world.stocks)["mat_1_fraction"] == 0.0
    bench.spectrometer.integration_time.put(0.01)
    bench.spectrometer.trigger().wait(5)
    fractions = dict(zip(materials, (0.0, 0.25, 0.75, 0.0), strict=True))
    expected = model.true_value({f"{m}_fraction": f for m, f in fractions.items()})
    assert bench.spectrometer.readout.get() == pytest.approx(expected, abs=5 * model.noise_std)


def test_dataset_response_errors_name_what_is_missing(
    crossed_barrel: DatasetResponse, tmp_path: Path
) -> None:
    with pytest.raises(KeyError, match=r"conditions lack \['n', 'theta', 'r', 't'\]"):
        crossed_barrel.true_value({"temperature_c": 50.0})
    with pytest.raises(ValueError, match=r"objective 'speed' is not in dataset crossed_barrel"):
        DatasetResponse(CROSSED_BARREL, objective="speed")
    with pytest.raises(FileNotFoundError, match=r"has no data\.csv"):
        DatasetResponse(tmp_path)


def test_dataset_response_with_categorical_parameters() -> None:
    folder = DATASETS / "buchwald_a"
    if not folder.is_dir():
        missing_component(f"the buchwald_a dataset is not at {folder}")
    model = DatasetResponse(folder)
    categorical = [p["name"] for p in model.parameters if p["type"] == "categorical"]
    data = pd.read_csv(folder / "data.csv")
    row = data.iloc[0].to_dict()
    assert math.isfinite(model.true_value(row))
    if categorical:
        with pytest.raises(ValueError, match="no measured rows for"):
            model.true_value({**row, categorical[0]: "never-measured"})


def test_response_models_are_rebuilt_from_their_recorded_settings(
    crossed_barrel: DatasetResponse,
) -> None:
    from smartlab_kernel.devices import AnalyticResponse, response_from_settings, response_settings

    analytic = AnalyticResponse(best_fraction=0.3, noise_std=0.2)
    again = response_from_settings(response_settings(analytic) or {})
    assert isinstance(again, AnalyticResponse) and again.best_fraction == 0.3
    assert again.settings() == analytic.settings()
    rebuilt = response_from_settings(crossed_barrel.settings())
    row = pd.read_csv(CROSSED_BARREL / "data.csv").iloc[3].to_dict()
    assert rebuilt.true_value(row) == pytest.approx(crossed_barrel.true_value(row))
    with pytest.raises(ValueError, match="cannot rebuild a response model of kind 'mine'"):
        response_from_settings({"kind": "mine"})

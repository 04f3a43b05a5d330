"""Spectrometer: spectrum shape, noise, seeded reproducibility, NaN readings."""

from __future__ import annotations

import numpy as np
import pytest

from smartlab_kernel.devices import NoVialError, SimulatedBench, build_bench
from smartlab_kernel.testing import inject


def measure(bench: SimulatedBench, times: int = 1) -> list[dict[str, object]]:
    spectrometer = bench.spectrometer
    spectrometer.integration_time.put(0.01)
    readings = []
    for _ in range(times):
        spectrometer.trigger().wait(5)
        readings.append({k: v["value"] for k, v in spectrometer.read().items()})
    return readings


def prepared_bench(seed: int, points: int = 200) -> SimulatedBench:
    bench = build_bench(seed=seed, time_scale=10_000.0, spectrum_points=points)
    vial = bench.world.new_vial("spectrometer")
    vial.add("a", 3.0)
    vial.add("b", 2.0)
    vial.react(60.0, 1200.0, 900.0)
    return bench


def test_spectrum_shape_band_and_readout() -> None:
    bench = prepared_bench(seed=1, points=300)
    (reading,) = measure(bench)
    spectrum = np.asarray(reading["spectrometer_spectrum"])
    assert spectrum.shape == (300,)
    assert bench.spectrometer.describe()["spectrometer_spectrum"]["shape"] == [300]
    true_value = bench.spectrometer.response.true_value(
        bench.world.vial_at("spectrometer").conditions()  # type: ignore[union-attr]
    )
    assert reading["spectrometer_readout"] == pytest.approx(true_value, abs=3.0)  # 6 sigma
    # the band peaks at peak_nm (520 nm) with height 1.2 * value / full scale over 0.02 baseline
    peak_index = int(np.argmax(spectrum))
    assert abs(bench.spectrometer.wavelengths[peak_index] - 520.0) < 15.0
    assert reading["spectrometer_peak_absorbance"] == pytest.approx(spectrum.max())
    assert spectrum.max() == pytest.approx(0.02 + 1.2 * true_value / 100.0, abs=0.03)
    assert spectrum[:10].mean() == pytest.approx(0.02, abs=0.005)  # baseline far from the band
    assert reading["spectrometer_vial_id"] == "V0001"


def test_noise_matches_the_response_model() -> None:
    bench = prepared_bench(seed=2)
    readings = measure(bench, times=200)
    readouts = np.array([r["spectrometer_readout"] for r in readings])
    assert readouts.std(ddof=1) == pytest.approx(bench.spectrometer.response.noise_std, rel=0.2)
    baseline = np.array([np.asarray(r["spectrometer_spectrum"])[:20] for r in readings])
    assert baseline.std() == pytest.approx(0.003, rel=0.2)


def test_same_seed_gives_identical_data_and_another_seed_does_not() -> None:
    first = measure(prepared_bench(seed=7), times=3)
    again = measure(prepared_bench(seed=7), times=3)
    other = measure(prepared_bench(seed=8), times=3)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a["spectrometer_spectrum"], b["spectrometer_spectrum"])
        assert a["spectrometer_readout"] == b["spectrometer_readout"]
    assert first[0]["spectrometer_readout"] != other[0]["spectrometer_readout"]


def test_nan_fault_gives_nan_readings() -> None:
    bench = prepared_bench(seed=0)
    with inject(bench.spectrometer, "nan"):
        (reading,) = measure(bench)
    assert np.isnan(reading["spectrometer_readout"])
    assert np.isnan(np.asarray(reading["spectrometer_spectrum"])).all()
    (after,) = measure(bench)
    assert np.isfinite(after["spectrometer_readout"])


def test_needs_a_vial_and_valid_points(bench: SimulatedBench) -> None:
    with pytest.raises(NoVialError, match="no vial at station 'spectrometer' to measure"):
        bench.spectrometer.trigger()
    with pytest.raises(ValueError, match="points must be an integer >= 2, got 1"):
        build_bench(spectrum_points=1)

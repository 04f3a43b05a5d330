"""A response model fitted to a real published experiment (a benchmark dataset)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.interpolate import RBFInterpolator

DATASETS_ENV = "SMARTLAB_DATASETS"


def find_datasets() -> Path:
    """Locate the benchmark datasets folder (``shared/benchmarks/datasets``).

    Looks at ``$SMARTLAB_DATASETS``, then for ``shared/benchmarks/datasets``
    beside the current directory or the package checkout and their parents.

    Raises:
        FileNotFoundError: If none is found, naming the places looked at.
    """
    import os

    env = os.environ.get(DATASETS_ENV)
    if env:
        if Path(env).is_dir():
            return Path(env)
        raise FileNotFoundError(f"${DATASETS_ENV}={env!r} is not a folder")
    looked = []
    for base in (Path.cwd(), Path(__file__).resolve().parents[2]):
        for folder in (base, *base.parents):
            candidate = folder / "shared" / "benchmarks" / "datasets"
            looked.append(str(candidate))
            if candidate.is_dir():
                return candidate
    raise FileNotFoundError(
        f"no benchmark datasets found; set ${DATASETS_ENV} (looked in {looked[:4]} ...)"
    )


class DatasetResponse:
    """Answers like the instrument of a published study, from a regression on its data.

    The dataset folder holds ``data.csv`` (one row per experiment really run)
    and ``dataset.json`` (parameters with bounds or options, objectives), as
    in ``shared/benchmarks/datasets``. Continuous parameters are interpolated
    with a smoothed thin-plate-spline RBF on inputs scaled to ``[0, 1]``;
    categorical parameters pick the rows that match exactly. The noise level
    is the RMS error on a held-out tenth of the rows, so the simulated
    instrument is as noisy as the fit is uncertain.

    Args:
        directory: Folder with ``data.csv`` and ``dataset.json``.
        objective: Which objective to answer (default: the first).
        input_map: Dataset parameter name -> vial condition key (default: the
            same name; use e.g. ``{"mat_1": "mat_1_fraction"}`` to feed
            dispensed fractions).
        seed: Seed of the held-out split.

    Raises:
        FileNotFoundError: If the folder lacks either file.
        ValueError: If ``objective`` is not one of the dataset's objectives.
    """

    units = ""

    def __init__(
        self,
        directory: str | Path,
        objective: str | None = None,
        input_map: Mapping[str, str] | None = None,
        seed: int = 0,
    ) -> None:
        directory = Path(directory)
        for required in ("data.csv", "dataset.json"):
            if not (directory / required).is_file():
                raise FileNotFoundError(f"dataset folder {directory} has no {required}")
        spec = json.loads((directory / "dataset.json").read_text())
        objectives = [o["name"] for o in spec["objectives"]]
        self.name = objective or objectives[0]
        if self.name not in objectives:
            raise ValueError(
                f"objective {self.name!r} is not in dataset {directory.name}: {objectives}"
            )
        self.goal: str = next(o["goal"] for o in spec["objectives"] if o["name"] == self.name)
        self.parameters: list[dict[str, Any]] = spec["parameters"]
        self.input_map = {p["name"]: p["name"] for p in self.parameters}
        self.input_map.update(input_map or {})
        self._settings = {
            "kind": "dataset",
            "directory": str(directory.resolve()),
            "dataset": directory.name,
            "objective": self.name,
            "input_map": dict(input_map or {}),
            "seed": seed,
        }
        data = pd.read_csv(directory / "data.csv")
        self._continuous = [p for p in self.parameters if p["type"] != "categorical"]
        self._categorical = [p["name"] for p in self.parameters if p["type"] == "categorical"]
        self._low = np.array([p["low"] for p in self._continuous], dtype=float)
        self._span = np.array([p["high"] - p["low"] for p in self._continuous], dtype=float)
        y = data[self.name].to_numpy(dtype=float)
        self.full_scale = float(np.nanmax(np.abs(y))) or 1.0
        self._groups: dict[tuple[Any, ...], Any] = {}
        rng = np.random.default_rng(seed)
        holdout = rng.random(len(data)) < 0.1
        errors: list[float] = []
        grouped = data.groupby(self._categorical) if self._categorical else [((), data)]
        for key, rows in grouped:
            key = key if isinstance(key, tuple) else (key,)
            x = self._scale(rows[[p["name"] for p in self._continuous]].to_numpy(float))
            values = rows[self.name].to_numpy(float)
            if x.shape[1] == 0 or len(rows) < x.shape[1] + 3:
                self._groups[key] = float(values.mean())
                continue
            fit_rows = ~holdout[rows.index.to_numpy()]
            check = self._fit(x[fit_rows], values[fit_rows])
            errors.extend((check(x[~fit_rows]) - values[~fit_rows]).tolist())
            self._groups[key] = self._fit(x, values)
        self.noise_std = float(np.sqrt(np.mean(np.square(errors)))) if errors else 0.0

    @staticmethod
    def _fit(x: np.ndarray, y: np.ndarray) -> RBFInterpolator:
        return RBFInterpolator(x, y, kernel="thin_plate_spline", smoothing=1e-3 * len(y))

    def _scale(self, x: np.ndarray) -> np.ndarray:
        return (x - self._low) / np.where(self._span > 0, self._span, 1.0)

    def settings(self) -> dict[str, Any]:
        """How to build this model again (recorded with every run): ``response_from_settings``."""
        return dict(self._settings)

    def true_value(self, conditions: Mapping[str, Any]) -> float:
        """Return the fitted response for the conditions.

        Raises:
            KeyError: If a parameter the dataset needs is missing from the conditions.
            ValueError: If a categorical value combination was never measured.
        """
        missing = [p for p, key in self.input_map.items() if key not in conditions]
        if missing:
            raise KeyError(
                f"conditions lack {[self.input_map[p] for p in missing]} needed by the "
                f"dataset model; conditions have {sorted(conditions)}"
            )
        key = tuple(conditions[self.input_map[name]] for name in self._categorical)
        model = self._groups.get(key)
        if model is None:
            raise ValueError(
                f"no measured rows for {dict(zip(self._categorical, key, strict=True))}"
            )
        if isinstance(model, float):
            return model
        x = np.array([[float(conditions[self.input_map[p["name"]]]) for p in self._continuous]])
        x = np.clip(self._scale(x), 0.0, 1.0)
        value = float(model(x)[0])
        return value if math.isfinite(value) else 0.0

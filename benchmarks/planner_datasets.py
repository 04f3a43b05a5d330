"""Benchmark datasets (../shared/benchmarks/datasets) and a dataset-fitted response model.

``DatasetResponse`` is a GP regression fitted to a whole dataset: its posterior
mean is the "true" response of a simulated instrument and its fitted noise
level the measurement noise. It is reusable by any simulated instrument.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from smartlab_kernel.devices.dataset_response import find_datasets
from smartlab_kernel.planner import Categorical, Objective, Real, SumConstraint
from smartlab_kernel.planner.model import fit_gp
from smartlab_kernel.planner.substances import Substance, reduce

#: Tables beside the benchmarks (descriptors of categorical options; see data/README.md).
DATA_DIR = Path(__file__).resolve().parent / "data"
DATASETS_DIR = find_datasets()  # $SMARTLAB_DATASETS, else ../shared/benchmarks/datasets
ALL = ["buchwald_a", "crossed_barrel", "hplc", "photo_pce10", "redoxmers"]
#: Held-out pools (``benchmarks/data/validation``, from the same Olympus suite): a
#: change to the planner's defaults found on the shared datasets is checked on
#: these before it is adopted, since the planner is judged on data it has not seen.
VALIDATION_DIR = DATA_DIR / "validation"
VALIDATION = [
    "buchwald_b",
    "buchwald_c",
    "buchwald_d",
    "buchwald_e",
    "suzuki_edbo",
    "oer_plate_3496",
]


@dataclass
class Dataset:
    """One benchmark dataset: rows plus its parameter and objective description."""

    name: str
    frame: pd.DataFrame
    spec: dict[str, Any]

    @property
    def parameter_names(self) -> list[str]:
        return [p["name"] for p in self.spec["parameters"]]

    @property
    def objective_names(self) -> list[str]:
        return [o["name"] for o in self.spec["objectives"]]

    @property
    def simplex(self) -> bool:
        return bool(self.spec.get("simplex"))

    def parameters(self, substances: str | None = None) -> list[Real | Categorical]:
        """The planner's parameters; with ``substances`` ("rdkit" or "morgan"), a
        categorical whose options all parse as SMILES becomes a ``Substance``; with
        ``"descriptors"``, a categorical listed in ``benchmarks/data/<name>_descriptors.csv``
        is encoded from that table's descriptors (standardised, then reduced to
        principal components as a ``Substance``'s are)."""
        kind, _, extra = (substances or "").partition("+")
        if extra not in ("", "onehot"):
            raise SystemExit(f"unknown substances {substances!r}: add '+onehot' or nothing")
        table = _descriptor_table(self.name) if kind == "descriptors" else {}
        out: list[Real | Categorical] = []
        for p in self.spec["parameters"]:
            if p["type"] == "categorical":
                if p["name"] in table:
                    described = _described(p["name"], p["options"], table[p["name"]])
                elif kind in ("rdkit", "morgan") and all(_is_smiles(o) for o in p["options"]):
                    described = Substance(p["name"], p["options"], descriptors=kind)  # type: ignore[arg-type]
                else:
                    out.append(Categorical(p["name"], p["options"]))
                    continue
                out.append(_with_one_hot(described) if extra else described)
            else:
                out.append(Real(p["name"], float(p["low"]), float(p["high"])))
        return out

    def objectives(self) -> list[Objective]:
        return [Objective(o["name"], o["goal"]) for o in self.spec["objectives"]]

    def constraints(self) -> list[SumConstraint]:
        return [SumConstraint(self.parameter_names, 1.0)] if self.simplex else []

    def signs(self) -> np.ndarray:
        return np.array([1.0 if o["goal"] == "maximize" else -1.0 for o in self.spec["objectives"]])


def _descriptor_table(name: str) -> dict[str, pd.DataFrame]:
    """Per categorical parameter, a frame of descriptors (options x descriptors)."""
    path = DATA_DIR / f"{name}_descriptors.csv"
    if not path.exists():
        raise SystemExit(f"{name} has no descriptor table ({path} is missing)")
    long = pd.read_csv(path)
    return {
        parameter: part.pivot(index="option", columns="descriptor", values="value")
        for parameter, part in long.groupby("parameter")
    }


def _described(name: str, options: list[str], table: pd.DataFrame) -> Categorical:
    missing = [o for o in options if o not in table.index]
    if missing:
        raise SystemExit(f"descriptor table has no row for {name} = {missing}")
    vectors, kept = reduce(table.loc[options].to_numpy(float), components=4)
    return Categorical(
        name,
        tuple(options),
        encoding=tuple(tuple(float(x) for x in v) for v in vectors),
        encoding_source=f"descriptor table ({', '.join(table.columns)}), {kept} components",
    )


def _with_one_hot(parameter: Categorical) -> Categorical:
    """The parameter's one-hot code followed by its descriptor encoding, one vector
    per choice (under an RBF kernel: the product of a one-hot kernel and a
    descriptor kernel; see docs/planner/ablations.md)."""
    assert parameter.encoding is not None
    k = len(parameter.choices)
    vectors = tuple(
        tuple(1.0 if i == j else 0.0 for i in range(k)) + tuple(code)
        for j, code in enumerate(parameter.encoding)
    )
    return replace(
        parameter, encoding=vectors, encoding_source=f"one-hot + {parameter.encoding_source}"
    )


def _is_smiles(text: str) -> bool:
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    return any(c in text for c in "=()[]#") and Chem.MolFromSmiles(text) is not None


def load(name: str) -> Dataset:
    """A shared dataset by name, or a held-out one (:data:`VALIDATION`)."""
    folder = VALIDATION_DIR / name if name in VALIDATION else DATASETS_DIR / name
    spec = json.loads((folder / "dataset.json").read_text())
    frame = pd.read_csv(folder / "data.csv")
    for p in spec["parameters"]:
        if p["type"] == "categorical":
            frame[p["name"]] = frame[p["name"]].astype(str)
    return Dataset(name, frame, spec)


class DatasetResponse:
    """A GP fitted to a continuous dataset: ``true(X)`` and noisy ``measure(X, rng)``.

    Args:
        dataset: A dataset with real parameters and one objective.
        max_rows: Rows used for the fit (a seeded subsample if larger).
    """

    def __init__(self, dataset: Dataset, max_rows: int = 1000, seed: int = 0) -> None:
        frame = dataset.frame
        if len(frame) > max_rows:
            frame = frame.sample(max_rows, random_state=seed)
        self.names = dataset.parameter_names
        self.objective = dataset.objective_names[0]
        X = torch.tensor(frame[self.names].to_numpy(float), dtype=torch.float64)
        Y = torch.tensor(frame[[self.objective]].to_numpy(float), dtype=torch.float64)
        lows = [p["low"] for p in dataset.spec["parameters"]]
        highs = [p["high"] for p in dataset.spec["parameters"]]
        bounds = torch.tensor([lows, highs], dtype=torch.float64)
        fitted = fit_gp(X, Y, bounds)
        self.model = fitted.model
        noise_var = float(self.model.likelihood.noise.mean())
        # the likelihood's noise is in standardised units; convert back
        self.noise_std = float(np.sqrt(noise_var) * float(Y.std()))
        self.data_max = float(Y.max())
        self.data_min = float(Y.min())

    def true(self, rows: list[dict[str, Any]]) -> np.ndarray:
        X = torch.tensor([[r[n] for n in self.names] for r in rows], dtype=torch.float64)
        with torch.no_grad():
            return self.model.posterior(X).mean.squeeze(-1).numpy()

    def measure(self, rows: list[dict[str, Any]], rng: np.random.Generator) -> np.ndarray:
        return self.true(rows) + rng.normal(0.0, self.noise_std, len(rows))

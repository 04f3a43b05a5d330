"""Categoricals encoded by descriptors, and molecules encoded from their structure."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import torch

from smartlab_kernel.planner import (
    Categorical,
    InvalidConfigError,
    Objective,
    Planner,
    Real,
    Substance,
)
from smartlab_kernel.planner.config import parameter_from_dict, parameter_to_dict
from smartlab_kernel.planner.space import SearchSpace

pytest.importorskip("rdkit", reason="Substance needs RDKit (the chem extra)")

BASES = {
    "DBU": "C1CCC2=NCCCN2CC1",
    "MTBD": "CN1CCCN2CCCN=C12",
    "BTMG": "CN(C)C(=NC(C)(C)C)N(C)C",
    "P2Et": "CCN=P(N=P(N(C)C)(N(C)C)N(C)C)(N(C)C)N(C)C",
}


def test_an_encoded_categorical_gives_the_model_its_vectors_and_decodes_to_the_nearest() -> None:
    solvent = Categorical(
        "solvent", ("water", "ethanol", "hexane"), encoding=((0, 1), (1, 1), (3, 0))
    )
    space = SearchSpace([Real("t", 0, 1), solvent])
    assert space.dim == 3
    X = space.encode([{"t": 0.5, "solvent": "hexane"}, {"t": 0.1, "solvent": "water"}])
    assert X.tolist() == [[0.5, 3.0, 0.0], [0.1, 0.0, 1.0]]
    assert space.decode(torch.tensor([[0.2, 1.2, 0.9]], dtype=X.dtype))[0]["solvent"] == "ethanol"
    assert space.bounds[:, 1:].tolist() == [[0.0, 0.0], [3.0, 1.0]]


@pytest.mark.parametrize(
    ("encoding", "message"),
    [
        (((0, 1), (1, 1)), "2 vectors for 3 choices"),
        (((0, 1), (1,), (2, 2)), "share one length"),
        (((0, 1), (1, float("nan")), (2, 2)), "NaN or infinite"),
        (((0, 1), (0, 1), (2, 2)), r"\['a', 'b'\] have the same encoding"),
        (((0, "x"), (1, 1), (2, 2)), "one sequence of numbers per choice"),
    ],
)
def test_a_bad_encoding_is_refused_naming_what_is_wrong(encoding: object, message: str) -> None:
    with pytest.raises(InvalidConfigError, match=message):
        Categorical("c", ("a", "b", "c"), encoding=encoding)  # type: ignore[arg-type]


def test_a_substance_is_a_categorical_encoded_from_rdkit_descriptors() -> None:
    base = Substance("base", BASES)
    assert base.choices == tuple(BASES)
    assert base.encoding is not None and 1 <= base.width <= 3  # at most one fewer than molecules
    assert (
        "rdkit" in (base.encoding_source or "") and "principal components" in base.encoding_source
    )
    by_smiles = Substance("base", list(BASES.values()), descriptors="morgan", components=2)
    assert by_smiles.choices == tuple(BASES.values()) and by_smiles.width == 2


def test_a_substance_round_trips_through_the_config_without_rdkit() -> None:
    base = Substance("base", BASES)
    again = parameter_from_dict(json.loads(json.dumps(parameter_to_dict(base))))
    assert again == base


@pytest.mark.parametrize(
    ("molecules", "kwargs", "message"),
    [
        ({"a": "CCO", "b": "not a molecule"}, {}, "cannot parse the SMILES 'not a molecule'"),
        ({"a": "CCO", "b": "OCC"}, {}, r"\['a', 'b'\] have the same rdkit description"),
        ("CCO", {}, "mapping of choice to SMILES or a sequence"),
        ({"a": "CCO", "b": "CCC"}, {"descriptors": "mordred"}, "'rdkit' or 'morgan'"),
        ({"a": "CCO", "b": "CCC"}, {"components": 0}, "components must be an int >= 1"),
    ],
)
def test_bad_molecules_are_refused_by_name(molecules: object, kwargs: dict, message: str) -> None:
    with pytest.raises(InvalidConfigError, match=message):
        Substance("s", molecules, **kwargs)  # type: ignore[arg-type]


def test_a_planner_over_substances_suggests_from_a_pool_and_reports_the_choices() -> None:
    pool = pd.DataFrame([{"base": b, "t": t} for b in BASES for t in (0.1, 0.5, 0.9)])
    planner = Planner(
        [Substance("base", BASES), Real("t", 0, 1)], [Objective("y")], candidates=pool, seed=1
    )
    seen = set()
    for _ in range(8):
        [s] = planner.suggest(1)
        assert s.params["base"] in BASES
        seen.add((s.params["base"], s.params["t"]))
        planner.observe(
            s, {"y": float(s.params["t"]) + (1.0 if s.params["base"] == "MTBD" else 0.0)}
        )
    assert len(seen) == 8  # no row twice
    config = json.loads(json.dumps(planner.to_config()))
    again = Planner.from_config(config)
    [recorded] = [p for p in config["parameters"] if p["name"] == "base"]
    assert recorded["encoding"] and "rdkit" in recorded["encoding_source"]
    assert again.space.by_name["base"] == planner.space.by_name["base"]


def test_a_planner_over_substances_without_a_pool_optimises_the_reals_per_choice() -> None:
    planner = Planner([Substance("base", BASES), Real("t", 0, 1)], [Objective("y")], seed=2)
    for _ in range(7):
        [s] = planner.suggest(1)
        planner.observe(s, {"y": -((float(s.params["t"]) - 0.3) ** 2)})
    [s] = planner.suggest(1)
    assert s.params["base"] in BASES and 0.0 <= s.params["t"] <= 1.0

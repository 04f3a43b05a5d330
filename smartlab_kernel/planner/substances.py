"""Chemistry-aware categoricals: molecules described by their structure, not by one-hot codes.

With one-hot codes the model learns nothing about a ligand it has not tried
from the ligands it has. Described by their structure (RDKit's 2D
descriptors, or Morgan fingerprints), similar molecules get similar inputs,
and what is learnt about one carries to its neighbours, as in BayBE's
substance parameters and EDBO's descriptor encodings.

The descriptors of a set of molecules are many (about 200) and strongly
correlated, while a campaign has few observations; they are therefore
reduced to a few principal components (enough for 90 % of their variance,
at most ``components``), which become the parameter's model inputs. The
vectors are stored in the planner's configuration, so a saved campaign
resumes without RDKit and gives the same suggestions.

RDKit is an optional dependency: ``pip install "smartlab-kernel[chem]"``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np

from smartlab_kernel.planner.errors import InvalidConfigError
from smartlab_kernel.planner.parameters import Categorical, Choice

#: How molecules are described before the reduction.
Descriptors = Literal["rdkit", "morgan"]

#: Share of the descriptors' variance the kept components explain.
EXPLAINED_VARIANCE = 0.9


def Substance(
    name: str,
    molecules: Mapping[Choice, str] | Sequence[str],
    descriptors: Descriptors = "rdkit",
    components: int = 4,
) -> Categorical:
    """A categorical parameter whose choices are molecules, encoded from their structure.

    Args:
        name: Parameter name.
        molecules: ``{choice: SMILES}`` (the choices are the keys, e.g. short
            labels), or a sequence of SMILES (the choices are the SMILES).
        descriptors: ``"rdkit"`` (RDKit's 2D descriptors, the default) or
            ``"morgan"`` (2048-bit Morgan fingerprints of radius 2).
        components: Most principal components kept (at least 1).

    Returns:
        A :class:`~smartlab_kernel.planner.parameters.Categorical` with an
        ``encoding`` (one vector per choice) and its ``encoding_source``.

    Raises:
        InvalidConfigError: A SMILES that RDKit cannot parse (named), two
            molecules that are the same, an unknown ``descriptors``, or
            ``components`` not an int >= 1.
        ImportError: RDKit is not installed (with the command that installs it).
    """
    if descriptors not in ("rdkit", "morgan"):
        raise InvalidConfigError(
            f"Substance {name!r}: descriptors must be 'rdkit' or 'morgan', got {descriptors!r}"
        )
    if not isinstance(components, int) or isinstance(components, bool) or components < 1:
        raise InvalidConfigError(
            f"Substance {name!r}: components must be an int >= 1, got {components!r}"
        )
    if isinstance(molecules, Mapping):
        choices, smiles = list(molecules.keys()), list(molecules.values())
    elif isinstance(molecules, str) or not isinstance(molecules, Sequence):
        raise InvalidConfigError(
            f"Substance {name!r}: molecules must be a mapping of choice to SMILES or a "
            f"sequence of SMILES, got {type(molecules).__name__}"
        )
    else:
        choices, smiles = list(molecules), list(molecules)
    rdkit = _rdkit()
    matrix = np.array([_describe(rdkit, name, s, descriptors) for s in smiles], dtype=float)
    vectors, kept = reduce(matrix, components)
    same = _duplicates(choices, vectors)
    if same:
        raise InvalidConfigError(
            f"Substance {name!r}: {same!r} have the same {descriptors} description; "
            "list each molecule once"
        )
    source = f"rdkit {rdkit.__version__} {descriptors} descriptors, {kept} principal components"
    return Categorical(
        name, tuple(choices), encoding=tuple(map(tuple, vectors)), encoding_source=source
    )


def reduce(matrix: np.ndarray, components: int) -> tuple[np.ndarray, int]:
    """Principal components of standardised descriptor columns.

    Columns that are not finite for every molecule, or the same for all, are
    dropped; the rest are standardised; the leading components that explain
    :data:`EXPLAINED_VARIANCE` of the variance, at most ``components`` and at
    most one fewer than the molecules, are kept.

    Args:
        matrix: A ``k x D`` array, one row of descriptors per molecule.
        components: Most components kept.

    Returns:
        The ``k x c`` component scores and ``c``.
    """
    finite = np.isfinite(matrix).all(axis=0)
    X = matrix[:, finite]
    X = X[:, X.std(axis=0) > 1e-12]
    if X.shape[1] == 0:
        return np.zeros((len(matrix), 1)), 1
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    U, S, _ = np.linalg.svd(X, full_matrices=False)
    share = np.cumsum(S**2) / np.sum(S**2)
    wanted = int(np.searchsorted(share, EXPLAINED_VARIANCE) + 1)
    c = max(1, min(wanted, components, len(matrix) - 1, len(S)))
    return U[:, :c] * S[:c], c


def _duplicates(choices: list[Choice], vectors: np.ndarray) -> list[Choice]:
    rounded = [tuple(np.round(v, 9)) for v in vectors]
    return [c for c, v in zip(choices, rounded, strict=True) if rounded.count(v) > 1]


def _rdkit():  # type: ignore[no-untyped-def]
    try:
        import rdkit
        from rdkit import RDLogger
    except ImportError as error:
        raise ImportError(
            'Substance parameters need RDKit: pip install "smartlab-kernel[chem]" (or rdkit)'
        ) from error
    RDLogger.DisableLog("rdApp.*")  # type: ignore[attr-defined]  # failures are named below
    return rdkit


def _describe(rdkit: object, name: str, smiles: str, descriptors: Descriptors) -> list[float]:
    from rdkit import Chem
    from rdkit.Chem import Descriptors as RDDescriptors
    from rdkit.Chem import rdFingerprintGenerator

    if not isinstance(smiles, str) or not smiles:
        raise InvalidConfigError(f"Substance {name!r}: {smiles!r} is not a SMILES string")
    molecule = Chem.MolFromSmiles(smiles)
    if molecule is None:
        raise InvalidConfigError(f"Substance {name!r}: RDKit cannot parse the SMILES {smiles!r}")
    if descriptors == "morgan":
        generator = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
        return [float(b) for b in generator.GetFingerprintAsNumPy(molecule)]
    values = RDDescriptors.CalcMolDescriptors(molecule)
    return [float(values[key]) for key in sorted(values)]


__all__ = ["EXPLAINED_VARIANCE", "Descriptors", "Substance", "reduce"]

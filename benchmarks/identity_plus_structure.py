"""Prototype (benchmarks only): the one-hot model plus the structure model, summed.

Concatenating a categorical's one-hot code and its descriptors (``"+onehot"``
in :meth:`benchmarks.planner_datasets.Dataset.parameters`) gives an RBF kernel
that is the *product* of a one-hot kernel and a descriptor kernel: two
different molecules can only be less alike than one-hot codes make them, so
the descriptors cannot carry what was learnt about one molecule to its
neighbours. The sum of the two models' kernels can: each is scaled by its own
output scale, the one-hot term is the default model's, and the fit weighs the
descriptor term down where the descriptors mislead.

This module swaps the planner's kernel for that sum while a benchmark runs
(:func:`identity_plus_structure`), for spaces built with ``"<kind>+onehot"``.
It is a measurement, not a planner option.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch
from botorch.models.utils.gpytorch_modules import get_covar_module_with_dim_scaled_prior
from gpytorch.kernels import Kernel, ScaleKernel
from gpytorch.priors import GammaPrior
from torch import Tensor

from smartlab_kernel.planner import Categorical


class IdentityPlusStructureKernel(Kernel):
    """``s1 * k(reals, one-hot codes) + s2 * k(reals, descriptors)``, each an RBF
    with BoTorch's dimension-scaled lengthscale prior over its own columns.

    Args:
        identity: Columns of the one-hot model (reals, one-hot codes and plain
            categoricals).
        structure: Columns of the structure model (reals, descriptors and
            plain categoricals).
        batch_shape: One set of hyperparameters per output.
    """

    def __init__(
        self, identity: Sequence[int], structure: Sequence[int], batch_shape: torch.Size
    ) -> None:
        super().__init__(batch_shape=batch_shape)
        self.identity = self._term(identity, batch_shape)
        self.structure = self._term(structure, batch_shape)

    @staticmethod
    def _term(columns: Sequence[int], batch_shape: torch.Size) -> ScaleKernel:
        base = get_covar_module_with_dim_scaled_prior(
            ard_num_dims=len(columns), batch_shape=batch_shape, active_dims=list(columns)
        )
        return ScaleKernel(base, batch_shape=batch_shape, outputscale_prior=GammaPrior(2.0, 0.15))

    def forward(self, x1: Tensor, x2: Tensor, diag: bool = False, **params: Any) -> Tensor:
        """The sum of the two terms' covariances."""
        a = self.identity(x1, x2, diag=diag, **params)
        b = self.structure(x1, x2, diag=diag, **params)
        if diag:
            return a + b
        return a.to_dense() + b.to_dense()


def column_roles(parameters: Sequence[Any]) -> tuple[list[int], list[int]]:
    """The identity and structure models' columns of a space built with ``"+onehot"``
    (a described categorical's columns: its one-hot code, then its descriptors)."""
    identity: list[int] = []
    structure: list[int] = []
    column = 0
    for p in parameters:
        if isinstance(p, Categorical) and p.encoding is not None:
            k, width = len(p.choices), len(p.encoding[0])
            identity += range(column, column + k)
            structure += range(column + k, column + width)
            column += width
        else:
            width = len(p.choices) if isinstance(p, Categorical) else 1
            identity += range(column, column + width)
            structure += range(column, column + width)
            column += width
    return identity, structure


@contextmanager
def identity_plus_structure(parameters: Sequence[Any]) -> Iterator[None]:
    """While in this block, the planner's outcome models use
    :class:`IdentityPlusStructureKernel` over ``parameters``' columns."""
    from smartlab_kernel.planner import model

    identity, structure = column_roles(parameters)
    saved = model.make_kernel

    def make(kernel: Any, d: int, groups: Any = None, m: int = 1) -> Kernel:
        batch = torch.Size([m]) if m > 1 else torch.Size([])
        return IdentityPlusStructureKernel(identity, structure, batch)

    model.make_kernel = make  # type: ignore[assignment]
    try:
        yield
    finally:
        model.make_kernel = saved  # type: ignore[assignment]


__all__ = ["IdentityPlusStructureKernel", "column_roles", "identity_plus_structure"]

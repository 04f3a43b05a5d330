"""A covariance with one lengthscale per parameter, not per encoded column.

A categorical parameter is encoded as several columns (one per level, or a
molecule's descriptors). BoTorch's default kernel gives every column its own
lengthscale, so a four-way categorical of 22 levels has 22 lengthscales
learnt from a handful of observations. :class:`ParameterRBFKernel` ties the
columns of one parameter to one lengthscale: for one-hot columns this is the
exponentiated Hamming distance of BoTorch's ``CategoricalKernel`` (two rows
that differ in a categorical are ``exp(-1 / l**2)`` alike in it), while the
space keeps its one-hot encoding, so pools, mixed spaces and the acquisition
optimiser are unchanged. gpytorch has no kernel that ties lengthscales
across columns, hence this one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from gpytorch.constraints import GreaterThan
from gpytorch.kernels import Kernel
from gpytorch.kernels.rbf_kernel import postprocess_rbf
from gpytorch.priors import LogNormalPrior
from torch import Tensor


class ParameterRBFKernel(Kernel):
    """RBF kernel whose lengthscales are shared by the columns of each parameter.

    The lengthscale prior is BoTorch's dimension-scaled one over all ``d``
    encoded columns (LogNormal with location ``sqrt(2) + log(d) / 2`` and
    scale ``sqrt(3)``), so a space of reals gets exactly BoTorch's default
    kernel, and a space with categoricals starts from the same correlations
    as that default, with fewer lengthscales to learn.

    Args:
        groups: For each encoded column, the index of its parameter
            (``0 .. k - 1``, each used).
        batch_shape: The batch shape (one set of hyperparameters per output).

    Raises:
        ValueError: If ``groups`` is empty or does not use every index ``0 .. k - 1``.
    """

    has_lengthscale = True

    def __init__(self, groups: Sequence[int], batch_shape: torch.Size | None = None) -> None:
        index = torch.as_tensor(list(groups), dtype=torch.long)
        if index.numel() == 0 or set(index.tolist()) != set(range(int(index.max()) + 1)):
            raise ValueError(f"groups must use every index 0 .. k - 1, got {list(groups)}")
        prior = LogNormalPrior(
            loc=math.sqrt(2.0) + 0.5 * math.log(len(index)), scale=math.sqrt(3.0)
        )
        super().__init__(
            ard_num_dims=int(index.max()) + 1,
            batch_shape=batch_shape or torch.Size([]),
            lengthscale_prior=prior,
            lengthscale_constraint=GreaterThan(2.5e-2, transform=None, initial_value=prior.mode),
        )
        # The lengthscale has one entry per parameter, the inputs one column per
        # encoded column: unset ard_num_dims, which gpytorch only uses to check
        # that those two counts agree.
        self.ard_num_dims = None
        self.register_buffer("groups", index)

    def forward(self, x1: Tensor, x2: Tensor, diag: bool = False, **params: object) -> Tensor:
        """The covariance of ``x1`` and ``x2`` (columns scaled by their parameter's lengthscale)."""
        scale = self.lengthscale.index_select(-1, self.groups)
        x1_, x2_ = x1.div(scale), x2.div(scale)
        return postprocess_rbf(self.covar_dist(x1_, x2_, square_dist=True, diag=diag, **params))


__all__ = ["ParameterRBFKernel"]

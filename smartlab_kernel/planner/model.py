"""Surrogate models: a GP of the objectives and a GP of experiment success.

Both are BoTorch ``SingleTaskGP`` models with inputs normalised to the unit
cube over the space's fixed bounds. Fits warm-start from the hyperparameters
of the previous fit, which makes refits fast and (since those
hyperparameters are stored in every suggestion record) reproducible after a
restart.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import torch
from botorch.fit import fit_gpytorch_mll
from botorch.models import MultiTaskGP, SingleTaskGP
from botorch.models.transforms import Normalize, Standardize
from gpytorch.constraints import GreaterThan
from gpytorch.kernels import Kernel, MaternKernel, ScaleKernel
from gpytorch.mlls import ExactMarginalLogLikelihood
from gpytorch.priors import GammaPrior
from torch import Tensor

from smartlab_kernel.planner.kernels import ParameterRBFKernel

if TYPE_CHECKING:
    from smartlab_kernel.planner.transfer import History

#: Raw GP hyperparameters by parameter name (JSON-safe nested lists).
RawState = dict[str, Any]

#: Covariance of the outcome model:
#:
#: * ``"dimension_scaled"``: BoTorch's default (RBF with a lengthscale prior
#:   that grows with the input dimension); suits many one-hot inputs.
#: * ``"matern_gamma"``: Matern-3/2 with a Gamma(3, 6) lengthscale prior
#:   (mean 0.5 of the unit cube) and an output scale; expects shorter
#:   lengthscales, which found the best rows of the continuous benchmark
#:   pools in fewer experiments (``docs/planner/benchmarks.md``).
#: * ``"matern_scaled"``: Matern-5/2 without an output scale, with a
#:   Gamma(3, ·) lengthscale prior whose mode, ``exp(sqrt(2) - 3) * sqrt(d)``,
#:   grows with the square root of the ``d`` inputs (BoTorch's
#:   dimension-scaled mode, with a Gamma's lighter tails): BayBE 0.15's
#:   default kernel (``docs/planner/ablations.md``).
#: * ``"per_parameter"``: ``"dimension_scaled"`` with one lengthscale per
#:   parameter instead of per encoded column: a categorical's one-hot
#:   columns (or a molecule's descriptors) share one
#:   (:class:`~smartlab_kernel.planner.kernels.ParameterRBFKernel`).
KernelChoice = Literal["dimension_scaled", "matern_gamma", "matern_scaled", "per_parameter"]
KERNELS: tuple[str, ...] = ("dimension_scaled", "matern_gamma", "matern_scaled", "per_parameter")

#: L-BFGS-B iterations of a warm-started multi-task refit (see :func:`fit_multitask`).
MULTITASK_REFIT_ITERATIONS = 15


def make_kernel(
    kernel: KernelChoice, d: int, groups: Sequence[int] | None = None, m: int = 1
) -> Kernel | None:
    """The covariance module for ``kernel`` over ``d`` inputs (``None``: BoTorch's default).

    Args:
        kernel: One of :data:`KERNELS`.
        d: Number of encoded input columns.
        groups: The parameter of each column (``"per_parameter"``; default:
            one parameter per column).
        m: Number of outputs: each gets its own hyperparameters, as with
            BoTorch's default (a ``SingleTaskGP`` of several outputs is a batch
            of GPs, and its fit needs a kernel of that batch shape).

    Raises:
        ValueError: If ``kernel`` is not one of :data:`KERNELS`.
    """
    batch = torch.Size([m]) if m > 1 else torch.Size([])
    if kernel == "dimension_scaled":
        return None
    if kernel == "per_parameter":
        return ParameterRBFKernel(
            list(groups) if groups is not None else list(range(d)), batch_shape=batch
        )
    if kernel == "matern_gamma":
        return ScaleKernel(
            MaternKernel(
                nu=1.5, ard_num_dims=d, batch_shape=batch, lengthscale_prior=GammaPrior(3.0, 6.0)
            ),
            batch_shape=batch,
            outputscale_prior=GammaPrior(2.0, 0.15),
        )
    if kernel == "matern_scaled":
        concentration = 3.0
        mode = math.exp(math.sqrt(2.0) - 3.0) * math.sqrt(d)
        prior = GammaPrior(concentration, (concentration - 1.0) / mode)
        return MaternKernel(
            nu=2.5,
            ard_num_dims=d,
            batch_shape=batch,
            lengthscale_prior=prior,
            lengthscale_constraint=GreaterThan(2.5e-2, transform=None, initial_value=mode),
        )
    raise ValueError(f"kernel must be one of {KERNELS}, got {kernel!r}")


@dataclass
class FittedModel:
    """A fitted GP with the provenance the planner records.

    Attributes:
        model: The fitted BoTorch model.
        raw_state: Raw hyperparameters, to warm-start the next fit.
        summary: Readable hyperparameters (lengthscales, noise, ...).
        warnings: Messages of numerical warnings raised while fitting.
        optimised: The hyperparameters were optimised (``False``: the warm
            start's were kept as they were).
    """

    model: SingleTaskGP
    raw_state: RawState
    summary: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    optimised: bool = True


def fit_gp(
    train_X: Tensor,
    train_Y: Tensor,
    bounds: Tensor,
    warm_start: RawState | None = None,
    standardize: bool = True,
    maxiter: int | None = None,
    kernel: KernelChoice = "dimension_scaled",
    groups: Sequence[int] | None = None,
    optimise: bool = True,
) -> FittedModel:
    """Fit a ``SingleTaskGP`` by maximising the marginal likelihood.

    Args:
        train_X: A ``n x d`` tensor of encoded inputs.
        train_Y: A ``n x m`` tensor of outcomes (larger is better).
        bounds: A ``2 x d`` tensor of input bounds for ``Normalize``.
        warm_start: Raw hyperparameters of an earlier fit of the same shape.
        standardize: Standardise outcomes (``Standardize``); off for 0/1 labels.
        maxiter: Maximum L-BFGS-B iterations (default 75 warm-started, else 200).
        kernel: The covariance (see :data:`KernelChoice`).
        groups: The parameter of each input column (see :func:`make_kernel`).
        optimise: ``False`` keeps ``warm_start``'s hyperparameters (the GP is
            conditioned on every row, nothing is optimised); needs ``warm_start``.

    Returns:
        The fitted model and its hyperparameter summary.
    """
    d, m = train_X.shape[-1], train_Y.shape[-1]
    with recorded_warnings() as caught:
        model = SingleTaskGP(
            train_X,
            train_Y,
            covar_module=make_kernel(kernel, d, groups, m),
            input_transform=Normalize(d=d, bounds=bounds),
            outcome_transform=Standardize(m=m) if standardize else None,
        )
        iterations = maxiter or (75 if warm_start else 200)
        optimised = _start_and_fit(model, warm_start, optimise, iterations)
    model.eval()
    raw = {name: p.detach().tolist() for name, p in model.named_parameters()}
    return FittedModel(
        model=model,
        raw_state=raw,
        summary=summarize(model),
        warnings=caught,
        optimised=optimised,
    )


def fit_multitask(
    train_X: Tensor,
    train_Y: Tensor,
    history: History,
    bounds: Tensor,
    warm_start: RawState | None = None,
    kernel: KernelChoice = "dimension_scaled",
    groups: Sequence[int] | None = None,
    optimise: bool = True,
) -> FittedModel:
    """Fit a ``MultiTaskGP`` of this campaign (the output task) and earlier ones.

    Each earlier campaign's outcomes are first mapped to this campaign's
    mean and standard deviation (a campaign on another scale combines), so
    the model's outputs stay in this campaign's units; the task correlation
    is learnt.

    Args:
        train_X: A ``n x d`` tensor of this campaign's inputs (``n >= 2``).
        train_Y: A ``n x 1`` tensor of its outcomes (larger is better).
        history: The earlier campaigns (:class:`~smartlab_kernel.planner.transfer.History`).
        bounds: A ``2 x d`` tensor of input bounds for ``Normalize``.
        warm_start: Raw hyperparameters of an earlier fit of the same shape.
        kernel: The covariance over the parameters (see :data:`KernelChoice`).
        groups: The parameter of each input column (see :func:`make_kernel`).
        optimise: ``False`` keeps ``warm_start``'s hyperparameters (see :func:`fit_gp`).

    Returns:
        The fitted model (predicting this campaign only) and its summary.
    """
    d = train_X.shape[-1]
    mean, std = train_Y.mean(), train_Y.std()
    Y_hist = history.Y.clone()
    for task in range(history.n_tasks):
        rows = history.task == task
        values = Y_hist[rows]
        spread = values.std() if len(values) > 1 else torch.tensor(1.0, dtype=values.dtype)
        scale = std / spread if std > 1e-12 and spread > 1e-12 else torch.tensor(1.0)
        Y_hist[rows] = (values - values.mean()) * scale + mean
    target = history.n_tasks
    task_column = torch.cat(
        [history.task.to(train_X.dtype), torch.full((len(train_X),), float(target))]
    ).unsqueeze(-1)
    X_all = torch.cat([torch.cat([history.X, train_X]), task_column.to(train_X.dtype)], dim=-1)
    with recorded_warnings() as caught:
        model = MultiTaskGP(
            X_all,
            torch.cat([Y_hist, train_Y]),
            task_feature=-1,
            output_tasks=[target],
            covar_module=make_kernel(kernel, d, groups),
            input_transform=Normalize(d=d + 1, indices=list(range(d)), bounds=bounds),
            outcome_transform=Standardize(m=1),
        )
        # Warm-started refits move little (one new observation among hundreds of
        # earlier ones), and each step costs a Cholesky of every row: few steps.
        iterations = MULTITASK_REFIT_ITERATIONS if warm_start else 200
        optimised = _start_and_fit(model, warm_start, optimise, iterations)
    model.eval()
    raw = {name: p.detach().tolist() for name, p in model.named_parameters()}
    summary = summarize(model)
    summary["tasks"] = target + 1
    return FittedModel(
        model=model, raw_state=raw, summary=summary, warnings=caught, optimised=optimised
    )


@contextmanager
def recorded_warnings() -> Iterator[list[str]]:
    """Collect warnings (numerical jitter, optimiser stops) as messages for provenance.

    Yields:
        A list that receives ``"Category: message"`` strings when the block exits.
    """
    messages: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield messages
    messages.extend(sorted({f"{w.category.__name__}: {w.message}"[:200] for w in caught}))


def _start_and_fit(
    model: SingleTaskGP, warm_start: RawState | None, optimise: bool, iterations: int
) -> bool:
    """Load ``warm_start`` into ``model`` and maximise the marginal likelihood from there.

    At most ``iterations`` L-BFGS-B steps. With ``optimise=False`` a warm start
    that sets every hyperparameter is kept as it is.

    Returns:
        Whether the hyperparameters were optimised.
    """
    loaded = _load_raw_state(model, warm_start) if warm_start else False
    if loaded and not optimise:
        return False
    mll = ExactMarginalLogLikelihood(model.likelihood, model)
    fit_gpytorch_mll(mll, optimizer_kwargs={"options": {"maxiter": iterations}})
    return True


def _load_raw_state(model: SingleTaskGP, raw_state: RawState) -> bool:
    """Copy the hyperparameters of ``raw_state`` that fit ``model``; ``True`` if all of them."""
    own = dict(model.named_parameters())
    loaded = 0
    with torch.no_grad():
        for name, value in raw_state.items():
            if name in own:
                tensor = torch.as_tensor(value, dtype=own[name].dtype)
                if tensor.shape == own[name].shape:
                    own[name].copy_(tensor)
                    loaded += 1
    return loaded == len(own)


def summarize(model: SingleTaskGP) -> dict[str, Any]:
    """Readable hyperparameters: lengthscales (unit-cube inputs), noise, mean, scale.

    Noise and mean are on the standardised outcome scale.
    """
    covar = model.covar_module
    task_kernel = None
    if hasattr(covar, "kernels"):  # MultiTaskGP: the parameters' kernel x the task kernel
        covar, task_kernel = covar.kernels[0], covar.kernels[1]
    base = getattr(covar, "base_kernel", covar)
    summary: dict[str, Any] = {"kernel": type(base).__name__}
    if getattr(base, "lengthscale", None) is not None:
        summary["lengthscale"] = [round(v, 6) for v in base.lengthscale.detach().flatten().tolist()]
    if hasattr(covar, "outputscale"):
        summary["outputscale"] = [
            round(v, 6) for v in covar.outputscale.detach().flatten().tolist()
        ]
    summary["noise"] = [round(v, 8) for v in model.likelihood.noise.detach().flatten().tolist()]
    constant = getattr(model.mean_module, "constant", None)
    if constant is not None:
        summary["mean"] = [round(v, 6) for v in constant.detach().flatten().tolist()]
    if task_kernel is not None:
        covariance = task_kernel.covar_matrix.to_dense().detach()
        spread = covariance.diagonal().sqrt()
        correlation = covariance / spread.unsqueeze(-1) / spread.unsqueeze(0)
        # how much each earlier campaign is like this one (the last task)
        summary["task_correlation"] = [round(v, 4) for v in correlation[-1, :-1].tolist()]
    return summary


def posterior_mean_std(model: SingleTaskGP, X: Tensor) -> tuple[Tensor, Tensor]:
    """Posterior mean and standard deviation of the latent function.

    Args:
        model: A fitted model with ``m`` outputs.
        X: A ``n x d`` tensor.

    Returns:
        Two ``n x m`` tensors (mean, std) in the outcome units of ``train_Y``.
    """
    with torch.no_grad():
        posterior = model.posterior(X)
        return posterior.mean, posterior.variance.clamp_min(0.0).sqrt()


__all__ = [
    "KERNELS",
    "FittedModel",
    "KernelChoice",
    "RawState",
    "fit_gp",
    "fit_multitask",
    "make_kernel",
    "posterior_mean_std",
    "recorded_warnings",
    "summarize",
]

"""Acquisition functions: log noisy (hypervolume) expected improvement, feasibility-weighted.

* one objective: ``qLogNoisyExpectedImprovement`` (qLogNEI);
* several objectives: ``qLogNoisyExpectedHypervolumeImprovement`` (qLogNEHVI);
* after failed experiments, the log acquisition is added to the log
  probability of success from a GP fitted to 0/1 success labels, i.e. the
  improvement is weighted by the probability that the experiment works.
"""

from __future__ import annotations

import torch
from botorch.acquisition import AcquisitionFunction
from botorch.acquisition.logei import qLogNoisyExpectedImprovement
from botorch.acquisition.multi_objective.logei import qLogNoisyExpectedHypervolumeImprovement
from botorch.models import SingleTaskGP
from botorch.sampling import SobolQMCNormalSampler
from botorch.utils.transforms import t_batch_mode_transform
from torch import Tensor

#: Uncertainty added to the success-probability estimate (probit scale).
SUCCESS_LABEL_JITTER = 0.15


class FeasibilityWeighted(AcquisitionFunction):
    """``log a(X) + sum_q log P(success | x_q)`` for a log-acquisition ``a``.

    ``P(success | x)`` is ``Phi((mu(x) - 1/2) / sqrt(var(x) + 0.15^2))`` with
    ``mu, var`` the posterior of a GP fitted to success labels (1 = worked,
    0 = failed): near failed experiments it is close to 0, elsewhere close to 1.

    Args:
        base: A log-space acquisition function (qLogNEI or qLogNEHVI).
        feasibility_model: A GP with one output fitted to 0/1 labels.
    """

    def __init__(self, base: AcquisitionFunction, feasibility_model: SingleTaskGP) -> None:
        super().__init__(model=base.model)
        self.base = base
        self.feasibility_model = feasibility_model

    def set_X_pending(self, X_pending: Tensor | None = None) -> None:
        """Forward pending points (a ``n x d`` tensor) to the base acquisition."""
        self.base.set_X_pending(X_pending)

    @property
    def X_pending(self) -> Tensor:
        """Pending points of the base acquisition (a ``p x d`` tensor or ``None``)."""
        return self.base.X_pending

    @X_pending.setter
    def X_pending(self, value: Tensor) -> None:
        if "base" in self._modules:
            self.base.X_pending = value

    @t_batch_mode_transform()  # type: ignore[arg-type]
    def forward(self, X: Tensor) -> Tensor:
        """Evaluate on a ``batch x q x d`` tensor; returns a ``batch`` tensor."""
        return self.base(X) + log_success_probability(self.feasibility_model, X).sum(dim=-1)


def log_success_probability(model: SingleTaskGP, X: Tensor) -> Tensor:
    """Log probability that an experiment at ``X`` succeeds.

    Args:
        model: A GP fitted to 0/1 success labels.
        X: A ``batch x q x d`` tensor.

    Returns:
        A ``batch x q`` tensor.
    """
    posterior = model.posterior(X)
    mean = posterior.mean.squeeze(-1)
    std = (posterior.variance.squeeze(-1).clamp_min(0.0) + SUCCESS_LABEL_JITTER**2).sqrt()
    return torch.special.log_ndtr((mean - 0.5) / std)


def build_acquisition(
    model: SingleTaskGP,
    X_baseline: Tensor,
    X_pending: Tensor | None,
    seed: int,
    ref_point: Tensor | None = None,
    feasibility_model: SingleTaskGP | None = None,
    mc_samples: int = 128,
) -> AcquisitionFunction:
    """Build qLogNEI (one output) or qLogNEHVI (several outputs).

    Args:
        model: The outcome model with ``m`` outputs (larger is better).
        X_baseline: A ``n x d`` tensor of observed inputs.
        X_pending: A ``p x d`` tensor of suggested, not yet observed inputs, or ``None``.
        seed: Seed of the quasi-Monte-Carlo sampler.
        ref_point: A ``m`` tensor, the hypervolume reference point (``m > 1``).
        feasibility_model: Success-label GP; if given, the acquisition is weighted by it.
        mc_samples: Number of quasi-Monte-Carlo samples.
    """
    sampler = SobolQMCNormalSampler(sample_shape=torch.Size([mc_samples]), seed=seed)
    acquisition: AcquisitionFunction
    if model.num_outputs == 1:
        acquisition = qLogNoisyExpectedImprovement(
            model=model, X_baseline=X_baseline, sampler=sampler, X_pending=X_pending
        )
    else:
        if ref_point is None:
            raise ValueError("several objectives need a reference point")
        acquisition = qLogNoisyExpectedHypervolumeImprovement(
            model=model,
            ref_point=ref_point,
            X_baseline=X_baseline,
            sampler=sampler,
            X_pending=X_pending,
            prune_baseline=True,
        )
    if feasibility_model is not None:
        acquisition = FeasibilityWeighted(acquisition, feasibility_model)
    return acquisition


__all__ = ["FeasibilityWeighted", "build_acquisition", "log_success_probability"]

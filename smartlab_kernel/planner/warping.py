"""Monotone outcome warping fitted to the observed values (Yeo-Johnson power transform).

Measured lab outcomes are often skewed: peak areas with many zeros and a few
large values, degradations clustered near zero with a long tail. A GP with a
stationary kernel fits such data badly (the rare large values look like
noise or force short lengthscales). As in HEBO and the Ax/BoTorch
``Power``/``Bilog`` transforms, the planner models a power transform of each
objective instead; the transform is fitted by maximum likelihood to the
observed values only (no knowledge of the candidates' outcomes), after
standardisation, and is monotone increasing, so the best observations stay the
best and the acquisition (an improvement over the incumbent) keeps its meaning.

Rule (the same for every dataset): with one objective and at least
``MIN_POINTS`` observations the Yeo-Johnson lambda is fitted and clipped to
``[LAMBDA_LOW, LAMBDA_HIGH]``; when the fitted lambda is within ``IDENTITY_TOL``
of 1 (nearly symmetric data) no warping is used. Several objectives are not
warped (the hypervolume reference point lives on the original scale).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from scipy import stats
from torch import Tensor

#: Fewest observations for which a transform is fitted.
MIN_POINTS = 6
#: Range of the fitted Yeo-Johnson exponent.
LAMBDA_LOW, LAMBDA_HIGH = -1.0, 3.0
#: Exponents this close to 1 mean "no warping".
IDENTITY_TOL = 0.1


@dataclass(frozen=True)
class OutcomeWarp:
    """Per-column affine standardisation followed by a Yeo-Johnson power transform.

    Attributes:
        loc: Column means used before the transform.
        scale: Column standard deviations used before the transform.
        lambdas: Yeo-Johnson exponents (``None`` = column not warped).
    """

    loc: list[float] = field(default_factory=list)
    scale: list[float] = field(default_factory=list)
    lambdas: list[float | None] = field(default_factory=list)

    @property
    def active(self) -> bool:
        """Whether any column is warped."""
        return any(lam is not None for lam in self.lambdas)

    def forward(self, Y: Tensor) -> Tensor:
        """Warp a ``n x m`` tensor of (signed, larger-is-better) outcomes."""
        if not self.active:
            return Y
        columns = []
        for j, lam in enumerate(self.lambdas):
            y = Y[:, j]
            if lam is not None:
                z = (y - self.loc[j]) / self.scale[j]
                y = _yeo_johnson(z, lam)
            columns.append(y)
        return torch.stack(columns, dim=-1)

    def inverse(self, W: Tensor) -> Tensor:
        """Map warped values back to the outcome scale (elementwise)."""
        if not self.active:
            return W
        columns = []
        for j, lam in enumerate(self.lambdas):
            w = W[..., j]
            if lam is not None:
                w = _yeo_johnson_inverse(w, lam) * self.scale[j] + self.loc[j]
            columns.append(w)
        return torch.stack(columns, dim=-1)

    def inverse_mean_std(self, mean: Tensor, std: Tensor) -> tuple[Tensor, Tensor]:
        """Posterior median and a one-sigma half-width on the outcome scale.

        Args:
            mean: A ``n x m`` tensor of posterior means on the warped scale.
            std: A ``n x m`` tensor of posterior standard deviations (warped scale).
        """
        if not self.active:
            return mean, std
        low, high = self.inverse(mean - std), self.inverse(mean + std)
        return self.inverse(mean), (high - low).abs() / 2

    def summary(self) -> dict[str, Any]:
        """JSON-safe description, stored with every model suggestion."""
        return {
            "kind": "yeo-johnson" if self.active else "none",
            "lambdas": [None if lam is None else round(lam, 4) for lam in self.lambdas],
        }


def fit_warp(Y: Tensor, enabled: bool = True) -> OutcomeWarp:
    """Fit the warping of a ``n x m`` tensor of observed (signed) outcomes.

    Args:
        Y: Observed outcomes, larger is better.
        enabled: ``False`` gives the identity.
    """
    m = Y.shape[-1]
    if not enabled or m != 1 or len(Y) < MIN_POINTS:
        return OutcomeWarp([0.0] * m, [1.0] * m, [None] * m)
    loc, scale, lambdas = [], [], []
    for j in range(m):
        y = Y[:, j].detach().cpu().numpy().astype(float)
        mu, sd = float(y.mean()), float(y.std())
        lam: float | None = None
        if sd > 0 and np.isfinite(sd):
            z = (y - mu) / sd
            try:
                fitted = float(stats.yeojohnson_normmax(z))
            except (ValueError, FloatingPointError, RuntimeError):
                fitted = 1.0
            if np.isfinite(fitted):
                fitted = min(max(fitted, LAMBDA_LOW), LAMBDA_HIGH)
                if abs(fitted - 1.0) > IDENTITY_TOL:
                    lam = fitted
        loc.append(mu)
        scale.append(sd if sd > 0 else 1.0)
        lambdas.append(lam)
    return OutcomeWarp(loc, scale, lambdas)


def _yeo_johnson(z: Tensor, lam: float) -> Tensor:
    positive = z >= 0
    zp, zn = z.clamp_min(0.0), z.clamp_max(0.0)
    up = ((zp + 1).pow(lam) - 1) / lam if abs(lam) > 1e-8 else torch.log1p(zp)
    down = -((1 - zn).pow(2 - lam) - 1) / (2 - lam) if abs(lam - 2) > 1e-8 else -torch.log1p(-zn)
    return torch.where(positive, up, down)


def _yeo_johnson_inverse(w: Tensor, lam: float) -> Tensor:
    positive = w >= 0
    wp, wn = w.clamp_min(0.0), w.clamp_max(0.0)
    if abs(lam) > 1e-8:
        base = (wp * lam + 1).clamp_min(1e-12)
        up = base.pow(1 / lam) - 1
    else:
        up = torch.expm1(wp)
    if abs(lam - 2) > 1e-8:
        base = (1 - (2 - lam) * wn).clamp_min(1e-12)
        down = 1 - base.pow(1 / (2 - lam))
    else:
        down = -torch.expm1(-wn)
    return torch.where(positive, up, down)


__all__ = ["OutcomeWarp", "fit_warp"]

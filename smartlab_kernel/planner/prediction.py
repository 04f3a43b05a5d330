"""Model predictions for the UI (e.g. the model along one parameter)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from smartlab_kernel.planner.engine import Snapshot, fit_outcome_model
from smartlab_kernel.planner.model import (
    FittedModel,
    KernelChoice,
    posterior_mean_std,
    recorded_warnings,
)
from smartlab_kernel.planner.objectives import Objective
from smartlab_kernel.planner.settings import ModelFit, refit_due
from smartlab_kernel.planner.space import SearchSpace
from smartlab_kernel.planner.transfer import History
from smartlab_kernel.planner.warping import OutcomeWarp, fit_warp


class Predictor:
    """Fits (and caches) the outcome GP for the current observations.

    Args:
        space: The search space.
        objectives: The objectives.
        warp_outcomes: Model the same outcome warping as the engine.
        kernel: The same covariance as the engine.
        history: Earlier campaigns (a multi-task model), or ``None``.
        model_fit: The engine's :data:`~smartlab_kernel.planner.settings.ModelFit`.
    """

    def __init__(
        self,
        space: SearchSpace,
        objectives: list[Objective],
        warp_outcomes: bool = False,
        kernel: KernelChoice = "dimension_scaled",
        history: History | None = None,
        model_fit: ModelFit = "warm",
    ) -> None:
        self.space = space
        self.history = history
        self.objectives = objectives
        self.warp_outcomes = warp_outcomes
        self.kernel = kernel
        self.model_fit = model_fit
        self._cache: tuple[int, FittedModel, OutcomeWarp] | None = None

    def predict(self, snap: Snapshot, params: Mapping[str, Any] | pd.DataFrame) -> Any:
        """Mean and std per objective at ``params`` (a dict or a DataFrame of rows)."""
        if isinstance(params, pd.DataFrame):
            records = params[self.space.names].to_dict("records")
            rows = [self.space.validate({str(k): v for k, v in r.items()}) for r in records]
        else:
            rows = [self.space.validate(params)]
        n = len(snap.X_observed)
        with recorded_warnings():
            if self._cache is None or self._cache[0] != n:
                warp = fit_warp(snap.Y_observed, self.warp_outcomes)
                fitted = fit_outcome_model(
                    snap.X_observed,
                    warp.forward(snap.Y_observed),
                    self.space.bounds,
                    snap.warm_start,
                    self.kernel,
                    self.history,
                    warp,
                    self.space.column_groups,
                    refit_due(self.model_fit, n, snap.fitted_at),
                )
                self._cache = (n, fitted, warp)
            _, fitted, warp = self._cache
            mean, std = warp.inverse_mean_std(
                *posterior_mean_std(fitted.model, self.space.encode(rows))
            )
        if not isinstance(params, pd.DataFrame):
            return {
                o.name: (float(mean[0, j]) * o.sign, float(std[0, j]))
                for j, o in enumerate(self.objectives)
            }
        columns: dict[str, Any] = {}
        for j, o in enumerate(self.objectives):
            columns[f"{o.name}_mean"] = (mean[:, j] * o.sign).numpy()
            columns[f"{o.name}_std"] = std[:, j].numpy()
        return pd.DataFrame(columns, index=params.index)


__all__ = ["Predictor"]

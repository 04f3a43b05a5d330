"""Could a planner choose between one-hot and structure-aware encodings from its data?

For random subsets of ``n`` pool rows, a GP is fitted with each encoding (the
planner's own ``fit_gp``: one-hot codes, or the dataset's descriptors), and
two criteria a planner could compute from those rows alone are compared with
what the encodings really do on the rest of the pool:

* the marginal log likelihood per row at the fitted hyperparameters
  (the model's evidence, with the priors' terms, as the fit maximises it);
* the leave-one-out log predictive density per row (closed form for a GP).

"Held out" is the mean log predictive density of every other pool row
(with observation noise), the measure of which encoding predicts better.

Run::

    .venv/bin/python benchmarks/encoding_evidence.py --dataset redoxmers --kind descriptors \\
        --out benchmarks/results/encoding_evidence_redoxmers.json
    .venv/bin/python benchmarks/encoding_evidence.py --dataset buchwald_a --kind rdkit \\
        --out benchmarks/results/encoding_evidence_buchwald_a.json
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch
from gpytorch.mlls import ExactMarginalLogLikelihood

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.planner_datasets import load
from smartlab_kernel.planner.model import fit_gp
from smartlab_kernel.planner.space import SearchSpace


def criteria(model: Any, X_test: torch.Tensor, y_test: torch.Tensor) -> dict[str, float]:
    """Evidence, leave-one-out and held-out log densities (per row) of a fitted GP."""
    model.train()
    mll = ExactMarginalLogLikelihood(model.likelihood, model)
    with torch.no_grad():
        X, y = model.train_inputs[0], model.train_targets
        evidence = float(mll(model(X), y).sum())
        K = model.covar_module(X).to_dense()
        K = K + model.likelihood.noise * torch.eye(len(X), dtype=X.dtype)
        inverse = torch.linalg.inv(K)
        alpha = inverse @ (y - model.mean_module.constant)
        loo_var = 1.0 / inverse.diagonal()
        loo_residual = alpha * loo_var
        loo = -0.5 * (loo_residual**2 / loo_var + torch.log(2 * math.pi * loo_var))
    model.eval()
    with torch.no_grad():
        posterior = model.posterior(X_test, observation_noise=True)
        mean, var = posterior.mean.squeeze(-1), posterior.variance.squeeze(-1)
        held = -0.5 * ((y_test - mean) ** 2 / var + torch.log(2 * math.pi * var))
    return {"evidence": evidence, "loo": float(loo.mean()), "held_out": float(held.mean())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", default="redoxmers")
    parser.add_argument("--kind", default="descriptors", help="descriptors, rdkit or morgan")
    parser.add_argument("--sizes", default="10,20,40")
    parser.add_argument("--reps", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    dataset = load(args.dataset)
    spaces = {
        "onehot": SearchSpace(dataset.parameters()),
        args.kind: SearchSpace(dataset.parameters(args.kind)),
    }
    rows = dataset.frame[dataset.parameter_names].to_dict("records")
    signed = dataset.frame[dataset.objective_names].to_numpy(float) * dataset.signs()
    Y = torch.tensor(signed, dtype=torch.float64)
    X = {name: space.encode(rows) for name, space in spaces.items()}
    gen = np.random.default_rng(0)
    out: dict[str, Any] = {"dataset": args.dataset, "kind": args.kind, "sizes": {}}
    for n in [int(v) for v in args.sizes.split(",")]:
        cases = []
        for _ in range(args.reps):
            order = gen.permutation(len(rows))
            train, test = order[:n], order[n:]
            for j in range(Y.shape[1]):
                figures = {}
                for name, space in spaces.items():
                    fitted = fit_gp(X[name][train], Y[train, j : j + 1], space.bounds)
                    figures[name] = criteria(fitted.model, X[name][test], Y[test, j])
                cases.append(figures)
        better = [max(c, key=lambda e, c=c: c[e]["held_out"]) for c in cases]
        summary: dict[str, Any] = {
            "cases": len(cases),
            "held_out_better": {k: better.count(k) for k in spaces},
        }
        for criterion in ("evidence", "loo"):
            picks = [max(c, key=lambda e, c=c, k=criterion: c[e][k]) for c in cases]
            gain = [
                c[p]["held_out"] - c["onehot"]["held_out"]
                for c, p in zip(cases, picks, strict=True)
            ]
            summary[criterion] = {
                "picks": {k: picks.count(k) for k in spaces},
                "agrees_with_held_out": sum(p == b for p, b in zip(picks, better, strict=True)),
                "held_out_gain_over_onehot_mean": float(np.mean(gain)),
            }
            print(
                f"{args.dataset} n={n} {criterion}: picks {summary[criterion]['picks']}, "
                f"agrees with the held-out better one in "
                f"{summary[criterion]['agrees_with_held_out']}/{len(cases)}, held-out gain "
                f"over one-hot {summary[criterion]['held_out_gain_over_onehot_mean']:+.3f}",
                flush=True,
            )
        print(f"{args.dataset} n={n}: held out, better: {summary['held_out_better']}", flush=True)
        out["sizes"][str(n)] = {"summary": summary, "cases": cases}
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(out, indent=1) + "\n")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

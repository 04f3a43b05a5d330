"""The planner benchmark's one command works end to end on a small budget, and merges."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from smartlab_kernel.devices.dataset_response import find_datasets
from smartlab_kernel.testing import missing_component

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    try:
        find_datasets()
    except FileNotFoundError as error:
        missing_component(f"the benchmark datasets: {error}")
    sys.path.insert(0, str(ROOT))
    try:
        from benchmarks import planner_benchmark
    finally:
        sys.path.remove(str(ROOT))
    return planner_benchmark


def test_one_command_measures_pool_and_continuous_modes(
    bench: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "planner.json"
    argv = ["--quick", "--parts", "pool,continuous", "--datasets", "hplc", "--seeds", "1"]
    argv += ["--methods", "planner,sobol,random", "--threads", "1", "--out", str(out)]
    assert bench.main(argv) == 0
    results = json.loads(out.read_text())
    pool = results["pool"]["hplc"]
    hits = pool["planner"]["experiments_to_top1pct"]
    assert len(hits) == 1 and 1 <= hits[0] <= 31  # 31: not found within the quick budget of 30
    assert pool["acceleration_vs_mean"] == pytest.approx(
        pool["random_expected_mean"] / pool["planner"]["median"]
    )
    continuous = results["continuous"]["hplc"]
    for method in ("planner", "sobol", "random"):
        [curve] = continuous[method]["curves"]
        assert len(curve) == 20 and curve == sorted(curve)  # best-so-far never falls
    assert out.with_suffix(".png").stat().st_size > 10_000
    assert not out.with_suffix(".partial.json").exists()
    printed = capsys.readouterr().out
    assert "== pool mode" in printed and "== continuous mode" in printed


def _run(seeds: list[int], best: list[float]) -> dict:
    return {
        "seeds": seeds,
        "best_true": best,
        "median_best_true": sorted(best)[len(best) // 2],
        "curve_median": [min(best), max(best)],
        "curves": [[b, b] for b in best],
    }


def test_merge_unites_seeds_and_compares_with_ax(bench: ModuleType, tmp_path: Path) -> None:
    base = {"noise_std": 1.0, "budget": 2, "sign": 1.0, "dataset_best": 10.0}
    first = {"pool": {}, "continuous": {"d": {**base, "planner": _run([0, 1], [5.0, 9.0])}}}
    second = {
        "pool": {},
        "continuous": {
            "d": {**base, "planner": _run([1, 2], [8.0, 7.0]), "ax": _run([0, 1, 2], [6, 6, 6])}
        },
    }
    paths = [tmp_path / "a.json", tmp_path / "b.json"]
    for path, data in zip(paths, (first, second), strict=True):
        path.write_text(json.dumps(data))
    out = tmp_path / "merged.json"
    assert bench.merge(paths, out) == 0
    merged = json.loads(out.read_text())["continuous"]["d"]
    assert merged["planner"]["seeds"] == [0, 1, 2]
    assert merged["planner"]["best_true"] == [5.0, 8.0, 7.0]  # the newer run wins on seed 1
    assert merged["planner_on_ax_seeds_median"] == 7.0
    assert merged["planner_at_least_as_good_as_ax"] is True
    assert merged["planner_wins_vs_ax_per_seed"] == "2/3"


def test_merge_compares_the_planner_with_baybe_in_continuous_mode(
    bench: ModuleType, tmp_path: Path
) -> None:
    base = {"noise_std": 1.0, "budget": 2, "sign": -1.0, "dataset_best": 0.0}  # minimised
    run = {**base, "planner": _run([0, 1, 2], [1.0, 2.0, 3.0]), "baybe": _run([1, 2], [2.0, 1.0])}
    path, out = tmp_path / "a.json", tmp_path / "merged.json"
    path.write_text(json.dumps({"pool": {}, "continuous": {"d": run}, "seeds": [0, 1, 2]}))
    part = tmp_path / "b.json"  # a later part, run without Ax on other seeds
    part.write_text(json.dumps({"pool": {}, "continuous": {}, "seeds": [5], "ax": "no Ax"}))
    assert bench.merge([path, part], out) == 0
    merged = json.loads(out.read_text())
    assert merged["seeds"] == [0, 1, 2] and merged["ax"] == "no Ax"  # the base's seeds stay
    versus = merged["continuous"]["d"]["planner_vs_baybe"]
    assert versus["common_seeds"] == [1, 2]
    assert versus["planner_median"] == 2.5 and versus["baybe_median"] == 1.5
    assert versus["planner_at_least_as_good"] is False  # lower is better here
    assert versus["planner_wins_ties_losses"] == [0, 1, 1]


def test_redoxmers_fragments_are_encoded_from_their_descriptor_table(bench: ModuleType) -> None:
    from benchmarks.planner_datasets import load

    parameters = load("redoxmers").parameters("descriptors")
    assert [p.name for p in parameters] == ["r1_label", "r3_label", "r4_label", "r5_label"]
    assert all(p.encoding is not None for p in parameters)
    assert sum(p.width for p in parameters) < 29  # 29 one-hot columns
    assert "descriptor table" in str(parameters[3].encoding_source)


def test_plus_onehot_puts_each_choice_s_identity_before_its_descriptors(
    bench: ModuleType,
) -> None:
    from benchmarks.identity_plus_structure import column_roles
    from benchmarks.planner_datasets import load

    described = load("redoxmers").parameters("descriptors")
    both = load("redoxmers").parameters("descriptors+onehot")
    for alone, joined in zip(described, both, strict=True):
        k = len(joined.choices)
        assert joined.width == k + alone.width
        for j, (code, vector) in enumerate(zip(alone.encoding, joined.encoding, strict=True)):
            assert vector[:k] == tuple(1.0 if i == j else 0.0 for i in range(k))
            assert vector[k:] == code
        assert str(joined.encoding_source).startswith("one-hot + ")
    identity, structure = column_roles(both)
    assert len(identity) == 29  # the one-hot model's columns: every choice's code
    assert len(structure) == sum(p.width for p in described)
    assert not set(identity) & set(structure)  # no reals in redoxmers
    with pytest.raises(SystemExit, match="unknown substances"):
        load("redoxmers").parameters("descriptors+pca")


def test_the_summed_kernel_is_what_the_planner_fits_inside_the_block(bench: ModuleType) -> None:
    from benchmarks.identity_plus_structure import identity_plus_structure
    from benchmarks.planner_datasets import load
    from smartlab_kernel.planner import model

    ds = load("buchwald_a")
    parameters = ds.parameters("rdkit+onehot")
    lookup = bench.pool_lookup(ds)
    original = model.make_kernel
    with identity_plus_structure(parameters):
        planner = bench.Planner(
            parameters, ds.objectives(), candidates=ds.frame[ds.parameter_names], seed=1
        )
        for _ in range(4):
            s = planner.suggest(1)[0]
            y = lookup[bench.row_key(s.params, ds.parameter_names)]
            planner.observe(s, {ds.objective_names[0]: float(y[0])})
    assert s.model_state["hyperparameters"]["kernel"] == "IdentityPlusStructureKernel"
    assert model.make_kernel is original  # restored after the block


def test_the_refits_part_scores_campaigns_past_each_checkpoint(
    bench: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    result = bench.refit_quality([0], ["periodic", "warm"], budget=54, q=4)
    for fit in ("periodic", "warm"):
        points = result["checkpoints"][fit]
        assert list(points) == ["50"]  # only the checkpoints within the budget
        assert 0.0 < points["50"]["median"] <= 3.32237 + 1e-9  # Hartmann-6's maximum
        assert len(result["seconds"][fit]) == 1
    bench.print_table({"pool": {}, "continuous": {}, "latency": {}, "refits": result})
    assert "== refits" in capsys.readouterr().out


@pytest.fixture(scope="module")
def ablation(bench: ModuleType) -> ModuleType:
    sys.path.insert(0, str(ROOT))
    try:
        from benchmarks import planner_ablation
    finally:
        sys.path.remove(str(ROOT))
    return planner_ablation


def test_the_ablation_compares_variants_seed_by_seed_with_the_plain_loop(
    ablation: ModuleType, tmp_path: Path
) -> None:
    out = tmp_path / "ablation.json"
    argv = ["--datasets", "crossed_barrel", "--variants", "plain,plain_matern,planner"]
    assert ablation.main([*argv, "--seeds", "2", "--budget", "8", "--output", str(out)]) == 0
    results = json.loads(out.read_text())["results"]["crossed_barrel"]
    assert set(results) == {"plain", "plain_matern", "planner"}
    for res in results.values():
        assert len(res["experiments_to_top1pct"]) == 2
        assert all(1 <= hits <= 9 for hits in res["experiments_to_top1pct"])  # censored at 9
        assert sum(res["wins_ties_losses_vs_plain"]) == 2
    assert results["plain"]["wins_ties_losses_vs_plain"] == [0, 2, 0]


def test_an_ablation_file_can_be_the_reference_its_variants_are_methods(
    ablation: ModuleType, tmp_path: Path
) -> None:
    default = {"seeds": [0, 1, 2], "experiments_to_top1pct": [5, 9, 30]}
    ref = tmp_path / "default.json"
    ref.write_text(json.dumps({"budget": 50, "results": {"d": {"planner_design2": default}}}))
    mine: dict[str, dict[str, Any]] = {
        "v": {"seeds": [0, 1, 2], "experiments_to_top1pct": [4, 9, 40]}
    }
    ablation.compare_with_reference("d", mine, ref, censored_at=51)
    versus = mine["v"]["vs_reference"]["planner_design2"]
    assert versus["wins_ties_losses"] == [1, 1, 1]
    assert versus["reference_median"] == 9.0
    other_budget: dict[str, dict[str, Any]] = {"v": {"seeds": [0], "experiments_to_top1pct": [4]}}
    ablation.compare_with_reference("d", other_budget, ref, censored_at=61)
    assert "vs_reference" not in other_budget["v"]  # another budget: not compared


def test_the_fit_patches_change_the_optimisers_options_for_the_block_only(
    ablation: ModuleType,
) -> None:
    import torch

    from smartlab_kernel.planner import model

    seen: list[dict[str, Any]] = []
    real = model.fit_gpytorch_mll

    def spy(mll: Any, optimizer_kwargs: dict[str, Any], **kw: Any) -> Any:
        seen.append(optimizer_kwargs["options"])
        return real(mll, optimizer_kwargs=optimizer_kwargs, **kw)

    X = torch.rand(8, 2, dtype=torch.float64)
    Y = X.sum(-1, keepdim=True)
    bounds = torch.tensor([[0.0, 0.0], [1.0, 1.0]], dtype=torch.float64)
    model.fit_gpytorch_mll = spy  # type: ignore[assignment]
    try:
        with ablation.engine_patch("fit_ftol+fit_converge"):
            model.fit_gp(X, Y, bounds)
        model.fit_gp(X, Y, bounds)
    finally:
        model.fit_gpytorch_mll = real  # type: ignore[assignment]
    assert seen[0] == {"maxiter": ablation.FIT_CONVERGE_STEPS, "ftol": ablation.FIT_FTOL}
    assert seen[1] == {"maxiter": 200}, "the planner's own options after the block"


def test_the_plain_loop_never_picks_a_pool_row_twice(ablation: ModuleType) -> None:
    from benchmarks.planner_datasets import load

    ds = load("crossed_barrel")
    trace = ablation.plain_run(ds, seed=3, budget=12)
    _rows, values = ablation._pool(ds)
    assert len(trace) == 12
    assert set(trace.tolist()) <= set(values.tolist())
    assert len(set(trace.tolist())) == 12


def test_the_benchmark_runs_the_plain_loop_beside_the_planner_seed_by_seed(
    bench: ModuleType, tmp_path: Path
) -> None:
    out = tmp_path / "planner.json"
    argv = ["--quick", "--parts", "pool", "--datasets", "crossed_barrel", "--seeds", "2"]
    argv += ["--pool-comparators", "plain", "--threads", "1", "--out", str(out)]
    assert bench.main(argv) == 0
    pool = json.loads(out.read_text())["pool"]["crossed_barrel"]
    assert len(pool["plain"]["experiments_to_top1pct"]) == 2
    assert sum(pool["plain"]["planner_wins_ties_losses"]) == 2


def test_a_latency_only_run_plots_latency_and_an_empty_one_says_nothing_was_plotted(
    bench: ModuleType, tmp_path: Path
) -> None:
    # the script printed "wrote X.json and X.png" for a latency-only run that drew no figure
    point = {"case": "reals", "n": 20, "q": 1, "p50_s": 0.4, "p95_s": 0.5}
    results = {"pool": {}, "continuous": {}, "latency": {"n=20,q=1": point}}
    assert bench.plot(results, tmp_path / "latency.png")
    assert (tmp_path / "latency.png").stat().st_size > 1000
    assert not bench.plot({"pool": {}, "continuous": {}}, tmp_path / "empty.png")
    assert not (tmp_path / "empty.png").exists()


def test_latency_cases_record_their_threads_and_all_threads_turns_the_rule_off(
    bench: ModuleType,
) -> None:
    from smartlab_kernel.planner import threads

    rule = threads.ONE_THREAD_BELOW
    small = bench.latency([20], [1], 1, "reals")["n=20,q=1"]
    assert small["torch_threads"] == 1
    before = bench.latency([20], [1], 1, "reals_all_threads")["reals_all_threads:n=20,q=1"]
    assert before["torch_threads"] == 2 and before["case"] == "reals_all_threads"
    assert rule == threads.ONE_THREAD_BELOW, "the rule is back after the case"


def test_the_held_out_pools_load_like_the_shared_datasets(bench: ModuleType) -> None:
    from benchmarks.planner_datasets import VALIDATION, load

    sizes = {name: len(load(name).frame) for name in VALIDATION}
    assert sizes == {
        "buchwald_b": 792,
        "buchwald_c": 792,
        "buchwald_d": 792,
        "buchwald_e": 792,
        "suzuki_edbo": 3696,
        "oer_plate_3496": 2121,
    }
    plate = load("oer_plate_3496")
    assert plate.simplex and plate.objectives()[0].goal == "minimize"
    suzuki = load("suzuki_edbo")
    assert [p.name for p in suzuki.parameters()] == [
        "electrophile",
        "nucleophile",
        "base",
        "ligand",
        "solvent",
    ]


def test_the_mixed_search_benchmark_times_searches_on_the_same_acquisition(
    bench: ModuleType, tmp_path: Path
) -> None:
    sys.path.insert(0, str(ROOT))
    try:
        from benchmarks import mixed_search_benchmark
    finally:
        sys.path.remove(str(ROOT))
    out = tmp_path / "mixed.json"
    argv = ["--seeds", "2", "--sizes", "20", "--qs", "2", "--threads", "1", "--out", str(out)]
    assert mixed_search_benchmark.main(argv) == 0
    results = json.loads(out.read_text())
    problems = results["problems"]
    assert set(problems) == {"batched_early_stop", "joint"}
    for search in problems.values():
        assert set(search) == {"n=20,q=2,seed=0", "n=20,q=2,seed=1"}
        for figures in search.values():
            assert figures["seconds"] > 0 and figures["value"] == figures["value"]  # not NaN
    [(label, points)] = results["summary"].items()
    assert label == "joint vs batched_early_stop"
    point = points["n=20,q=2"]
    assert sum(point["value_higher_level_lower"]) == 2
    seconds = point["median_seconds"]
    assert point["time_ratio"] == pytest.approx(seconds["batched_early_stop"] / seconds["joint"])


def test_the_encoding_evidence_leave_one_out_is_the_gp_conditioned_on_the_others() -> None:
    import math

    import torch

    sys.path.insert(0, str(ROOT))
    try:
        from benchmarks.encoding_evidence import criteria
    finally:
        sys.path.remove(str(ROOT))
    from smartlab_kernel.planner.model import fit_gp

    gen = torch.Generator().manual_seed(3)
    X = torch.rand(12, 2, generator=gen, dtype=torch.float64)
    y = torch.sin(6 * X[:, :1]) + 0.1 * torch.rand(12, 1, generator=gen, dtype=torch.float64)
    bounds = torch.tensor([[0.0, 0.0], [1.0, 1.0]], dtype=torch.float64)
    model = fit_gp(X, y, bounds).model
    figures = criteria(model, X[:3], y[:3, 0])
    # the same leave-one-out density by brute force, on the model's own (standardised) scale
    Xt, yt = model.train_inputs[0], model.train_targets
    kernel, noise = model.covar_module, model.likelihood.noise
    constant = model.mean_module.constant
    densities = []
    with torch.no_grad():
        for i in range(len(Xt)):
            rest = [j for j in range(len(Xt)) if j != i]
            K = kernel(Xt[rest]).to_dense() + noise * torch.eye(len(rest), dtype=Xt.dtype)
            k = kernel(Xt[rest], Xt[i : i + 1]).to_dense()
            mean = constant + (k.T @ torch.linalg.solve(K, yt[rest] - constant)).squeeze()
            var = kernel(Xt[i : i + 1]).to_dense().squeeze() + noise.squeeze()
            var = var - (k.T @ torch.linalg.solve(K, k)).squeeze()
            densities.append(-0.5 * ((yt[i] - mean) ** 2 / var + torch.log(2 * math.pi * var)))
    assert figures["loo"] == pytest.approx(float(torch.stack(densities).mean()), rel=1e-6)
    assert math.isfinite(figures["evidence"]) and math.isfinite(figures["held_out"])

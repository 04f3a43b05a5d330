"""Issue 19: a published notebook re-executes on a reader's machine from its bundle alone.

One module-scoped publication of notebook 02 (the closed loop with review),
executed on the Smart Lab kernel; each test then works on a copy of the
bundle in a fresh folder with no lab directory.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from smartlab_kernel import Lab
from smartlab_kernel.cli.main import main
from smartlab_kernel.kernel import install_kernelspec
from smartlab_kernel.publish import BundleTamperedError, NotRecordedError, verify_bundle
from smartlab_kernel.publish.bundle import Bundle
from smartlab_kernel.publish.compare import output_differences, seen

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = next((ROOT / "notebooks").glob("02*.ipynb"))
SMARTLAB = [sys.executable, "-m", "smartlab_kernel.cli.main"]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def kernelspec(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The Smart Lab kernelspec of this checkout's Python, found first (also by subprocesses)."""
    prefix = tmp_path_factory.mktemp("kernelspec")
    install_kernelspec(prefix=str(prefix))
    env = {"JUPYTER_PATH": str(prefix / "share" / "jupyter")}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JUPYTER_PATH", env["JUPYTER_PATH"])
        yield env


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory, kernelspec: dict[str, str]) -> Path:
    """Notebook 02 executed in a folder of its own and published (with its figures' data)."""
    author = tmp_path_factory.mktemp("author")
    shutil.copy(NOTEBOOK, author / NOTEBOOK.name)
    bundle = author / "bundle"
    assert main(["publish", str(author / NOTEBOOK.name), "--execute", "-o", str(bundle)]) == 0
    return bundle


def _reader_copy(bundle: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A fresh folder holding only a copy of the bundle: (the folder, the bundle)."""
    reader = tmp_path / "reader"
    shutil.copytree(bundle, reader / "bundle")
    return reader, reader / "bundle"


def _smartlab(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SMARTLAB, *args],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_the_bundle_holds_the_notebook_runs_planner_and_manifest(published: Path) -> None:
    bundle = Bundle(published)
    manifest = bundle.manifest
    assert len(bundle.campaigns) == 1
    plans = [run.plan_name for run in bundle.runs]
    assert plans.count("measure_recipe") == 10, plans
    assert set(plans) == {"measure_recipe", "planner_record"}
    for run in bundle.runs:
        folder = published / "runs" / run.uid
        assert (folder / "documents.jsonl").is_file()
        if run.plan_name == "measure_recipe":
            assert (folder / "primary.parquet").is_file() and (folder / "primary.csv").is_file()
    planner = json.loads((published / "planner" / f"{bundle.campaigns[0]}.json").read_text())
    assert planner["records"], "the planner's history is in the bundle"
    assert planner["config"]["campaign_id"] == bundle.campaigns[0]
    assert bundle.lab["bench"]["seed"] == 2 and bundle.lab["bench"]["time_scale"] == 5000
    assert "botorch" in json.loads((published / "versions.json").read_text())["publisher"]
    listed = set(manifest["files"])
    on_disk = {
        p.relative_to(published).as_posix()
        for p in published.rglob("*")
        if p.is_file() and p.name != "manifest.json"
    }
    assert listed == on_disk
    crate = json.loads((published / "ro-crate-metadata.json").read_text())
    described = {entity["@id"] for entity in crate["@graph"]}
    assert on_disk - {"ro-crate-metadata.json"} <= described and "manifest.json" in described
    assert bundle.figures and bundle.figures[0][0]["lines"], "the figure's data was recorded"


def test_a_reader_replays_every_cell_with_the_published_outputs(
    published: Path, tmp_path: Path, kernelspec: dict[str, str]
) -> None:
    """The done-when of issue 19: a fresh process, no lab directory, the same outputs."""
    reader, bundle = _reader_copy(published, tmp_path)
    done = _smartlab(
        ["replay", str(bundle), "--execute", "--output", "replayed.ipynb"], reader, kernelspec
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SAME:" in done.stdout
    assert sorted(p.name for p in reader.iterdir()) == ["bundle", "replayed.ipynb"], (
        "the replay made no lab directory"
    )
    original = json.loads((bundle / "notebook.ipynb").read_text())
    replayed = json.loads((reader / "replayed.ipynb").read_text())
    outputs = [o for cell in replayed["cells"] for o in cell.get("outputs", [])]
    errors = [o for o in outputs if o.get("output_type") == "error"]
    assert not errors, errors
    opened = "".join(replayed["cells"][1]["outputs"][0]["text"])
    assert opened.startswith("lab: replay of bundle bundle (read-only: "), opened
    figures = replayed["metadata"]["smartlab"]["figures"]
    assert not output_differences(original, replayed, Bundle(bundle).figures, figures)
    # The comparison has something to compare: tables, prints and a figure's data.
    shown = seen(replayed)
    assert sum(len(cell) for cell in shown) >= 6
    [[axes]] = figures
    assert [line["label"] for line in axes["lines"]] == ["measured", "best so far"]
    assert len(axes["lines"][0]["xy"]) == 10
    # ... and it is not blind: a changed number in a published table is a difference.
    changed = json.loads(json.dumps(original))
    for cell in changed["cells"]:
        for output in cell.get("outputs", []):
            if "text/plain" in output.get("data", {}) and "yield" in "".join(
                output["data"]["text/plain"]
            ):
                text = "".join(output["data"]["text/plain"])
                output["data"]["text/plain"] = text.replace(".", ",", 1)
                break
    assert output_differences(changed, replayed)


def test_a_tampered_bundle_is_refused_naming_the_file(
    published: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, bundle = _reader_copy(published, tmp_path)
    run = Bundle(bundle).runs[3]
    table = bundle / "runs" / run.uid / "documents.jsonl"
    table.write_text(table.read_text().replace('"exit_status": "success"', '"exit_status": "fail"'))
    name = f"runs/{run.uid}/documents.jsonl"
    with pytest.raises(BundleTamperedError, match=name):
        verify_bundle(bundle)
    with pytest.raises(BundleTamperedError, match=name):
        Lab.from_bundle(bundle)
    capsys.readouterr()
    for command in (["replay", str(bundle), "--execute"], ["reproduce", str(bundle)]):
        assert main(command) == 2
        said = capsys.readouterr().err
        assert name in said and "changed after publishing" in said, said
    (bundle / "extra.csv").write_text("a\n1\n")
    table.write_bytes((published / name).read_bytes())
    with pytest.raises(BundleTamperedError, match=r"extra\.csv"):
        verify_bundle(bundle)


def test_replay_returns_recorded_runs_and_refuses_others(
    published: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from smartlab_kernel.campaign.loop import bench_planner, bench_recipe, resume_planner
    from smartlab_kernel.kernel.lab_open import open_lab, parse_open
    from smartlab_kernel.plans import measure_recipe
    from smartlab_kernel.publish import REPLAY_ENV, BundleLab

    _, bundle = _reader_copy(published, tmp_path)
    with Lab.from_bundle(bundle) as lab:
        assert isinstance(lab, BundleLab) and lab.read_only
        [campaign_id] = lab.bundle.campaigns
        assert len(lab.catalog) == len(lab.bundle.runs)
        recorded = next(r for r in lab.bundle.runs if r.plan_name == "measure_recipe")
        devices = {k: lab.devices[k] for k in ("dispenser", "reactor", "robot", "spectrometer")}
        params = recorded.start["recipe"]["params"]
        again = lab.submit(
            measure_recipe(bench_recipe(params), md={"campaign_id": campaign_id}, **devices)
        )
        assert again.wait() == [recorded.uid]
        other = {**params, "temperature_c": params["temperature_c"] + 7.0}
        with pytest.raises(NotRecordedError) as refused:
            lab.submit(
                measure_recipe(bench_recipe(other), md={"campaign_id": campaign_id}, **devices)
            )
        message = str(refused.value)
        assert "not recorded" in message and recorded.uid in message
        assert "recipe.temperature_c" in message
        # The planner resumes from the recorded history ...
        planner = resume_planner(lab, campaign_id)
        assert len(planner.observations) == 10
        # ... and `%lab open DIR --fresh` on a replay rewinds it: the bundle's lab again,
        # with its campaign id handed to the next planner, as at the notebook's top.
        monkeypatch.setenv(REPLAY_ENV, str(bundle))
        reopened = open_lab(parse_open("lab-data/anything --fresh"), lab, {})
        assert reopened is lab
        assert bench_planner().campaign_id == campaign_id
        assert bench_planner().campaign_id != campaign_id
    assert not Path("lab-data/anything").resolve().exists(), "a replay opens no directory"


def test_reproduce_a_bundle_matches(
    published: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, bundle = _reader_copy(published, tmp_path)
    capsys.readouterr()
    assert main(["reproduce", str(bundle)]) == 0
    said = capsys.readouterr().out
    assert "MATCH: 10 experiments" in said, said
    assert said.count(" recorded ") == 10


def _saved_notebook(path: Path, outputs: bool) -> Path:
    """A notebook opening the lab in ``lab``, as saved after Run All (or never run)."""
    import nbformat

    notebook = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("%lab open lab --seed 1\nlab.catalog")
    if outputs:
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="lab: ...\n")]
    notebook.cells = [nbformat.v4.new_markdown_cell("# A small campaign"), cell]
    nbformat.write(notebook, path)
    return path


def test_publish_selects_runs_and_bundles_the_lims_export(tmp_path: Path) -> None:
    from smartlab_kernel.campaign.loop import bench_planner, campaign
    from smartlab_kernel.publish import BundleError
    from smartlab_kernel.publish.writer import publish

    with Lab.simulated(seed=1, directory=tmp_path / "lab", time_scale=5000, lims=True) as lab:
        planner = bench_planner(seed=0, initial_design=2)
        lab.submit(campaign(lab, planner, budget=2, batch=2)).wait()
        lab.wait()
    unrun = _saved_notebook(tmp_path / "unrun.ipynb", outputs=False)
    with pytest.raises(BundleError, match="has no outputs"):
        publish(unrun, tmp_path / "never")
    assert not (tmp_path / "never").exists()
    notebook = _saved_notebook(tmp_path / "small.ipynb", outputs=True)
    everything = publish(notebook, tmp_path / "all", campaign=planner.campaign_id)
    crate = everything / "lims" / planner.campaign_id
    assert (crate / "ro-crate-metadata.json").is_file()
    assert len(pd.read_csv(crate / "samples.csv")) >= 2
    assert Bundle(everything).manifest["title"] == "A small campaign"
    measured = publish(notebook, tmp_path / "measured", query={"plan_name": "measure_recipe"})
    assert [run.plan_name for run in Bundle(measured).runs] == ["measure_recipe"] * 2
    with pytest.raises(BundleError, match="no runs of campaign 'nope'"):
        publish(notebook, tmp_path / "none", campaign="nope")


def test_replay_without_execute_opens_jupyterlab_on_a_copy(
    published: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kernelspec: dict[str, str]
) -> None:
    from smartlab_kernel.publish import REPLAY_ENV

    _, bundle = _reader_copy(published, tmp_path)
    monkeypatch.setenv(REPLAY_ENV, "")  # restored after the test: replay sets it for the kernel
    started: list[list[str]] = []
    monkeypatch.setattr(os, "execv", lambda path, argv: started.append(argv))
    into = tmp_path / "reading"
    assert main(["replay", str(bundle), "--into", str(into), "--no-browser"]) == 0
    assert (into / NOTEBOOK.name).read_bytes() == (bundle / "notebook.ipynb").read_bytes()
    assert os.environ[REPLAY_ENV] == str(bundle.resolve())
    [argv] = started
    assert f"--ServerApp.root_dir={into}" in argv and "--no-browser" in argv
    assert "--MappingKernelManager.default_kernel_name=smartlab" in argv

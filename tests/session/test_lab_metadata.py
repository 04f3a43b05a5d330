"""Contextual metadata on stored runs; reserved keys and unknown devices refused clearly."""

from __future__ import annotations

import subprocess
from pathlib import Path

import bluesky.plans as bp
import pytest

from smartlab_kernel import Lab
from smartlab_kernel.session import RESERVED_KEYS, UnknownDeviceError

from .conftest import OPERATOR, SEED


def short_count(lab: Lab):  # type: ignore[no-untyped-def]
    bench = lab.bench
    assert bench is not None
    bench.world.new_vial("spectrometer")
    bench.spectrometer.integration_time.put(0.01)
    return bp.count([bench.spectrometer], num=2)


def test_every_stored_run_carries_its_context(lab: Lab) -> None:
    lab.md["project"] = "catalysis"
    run = lab.submit(
        short_count(lab),
        md={"purpose": "context test"},
        sample_ids=["S-1", "S-2"],
        campaign_id="camp-7",
    )
    (uid,) = run.wait(30)
    lab.wait(30)
    start = lab.catalog[uid].metadata["start"]
    assert start["operator"] == OPERATOR
    assert start["sample_ids"] == ["S-1", "S-2"]
    assert start["campaign_id"] == "camp-7"
    assert start["purpose"] == "context test" and start["project"] == "catalysis"
    assert start["seed"] == SEED
    assert start["bench"]["seed"] == SEED and start["bench"]["time_scale"] == 2000.0
    devices = start["devices"]
    assert set(devices) >= {"dispenser", "reactor", "spectrometer", "robot"}
    assert devices["reactor"]["reactor_time_constant"] == 60.0
    assert devices["spectrometer"]["spectrometer_integration_time"] == 0.01
    assert devices["dispenser"]["dispenser_a_capacity"] == 50.0
    environment = start["environment"]
    assert 15.0 <= environment["reactor_temperature_c"] <= 150.0
    assert environment["time"] <= start["time"] and environment["simulated_time_s"] > 0
    assert {"bluesky", "ophyd", "tiled", "bluesky-tiled-plugins", "numpy"} <= set(start["versions"])
    assert start["lab_directory"] == str(lab.directory)
    assert start["plan_name"] == "count"


def test_the_notebook_and_its_git_commit_are_recorded(
    lab: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "analysis"
    repo.mkdir()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    (repo / "notes.md").write_text("campaign notes\n")
    subprocess.run([*git, "add", "notes.md"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "notes"], cwd=repo, check=True)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()
    monkeypatch.chdir(repo)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.setenv("SMARTLAB_NOTEBOOK", "analysis/01_screen.ipynb")
    (uid,) = lab.submit(short_count(lab)).wait(30)
    lab.wait(30)
    start = lab.catalog[uid].metadata["start"]
    assert start["notebook"] == "analysis/01_screen.ipynb"
    assert start["git_commit"] == head


def test_runs_without_optional_context_do_not_invent_it(lab: Lab) -> None:
    (uid,) = lab.submit(short_count(lab)).wait(30)
    lab.wait(30)
    start = lab.catalog[uid].metadata["start"]
    assert "sample_ids" not in start and "campaign_id" not in start


@pytest.mark.parametrize("key", sorted(RESERVED_KEYS))
def test_reserved_keys_are_refused_with_a_clear_error(lab: Lab, key: str) -> None:
    submitted = len(lab.runs)
    with pytest.raises(ValueError, match=rf"metadata keys \['{key}'\] are reserved"):
        lab.submit(iter([]), md={key: "mine"})
    assert len(lab.runs) == submitted  # nothing was queued


def test_reserved_keys_in_the_lab_md_are_refused_too(lab: Lab) -> None:
    lab.md["operator"] = "mallory"
    with pytest.raises(ValueError, match="pass operator=, sample_ids= or campaign_id= to"):
        lab.submit(short_count(lab))


def test_a_plan_cannot_overwrite_what_the_session_records(lab: Lab) -> None:
    bench = lab.bench
    assert bench is not None
    bench.world.new_vial("spectrometer")
    run = lab.submit(bp.count([bench.spectrometer], md={"operator": "mallory", "seed": 9}))
    with pytest.raises(ValueError, match=r"the plan's metadata sets reserved keys \{'operator'"):
        run.wait(30)
    assert run.state == "failed" and "'seed': 9" in run.reason
    assert run.uids == []  # no run was opened under a false name
    ok = lab.submit(bp.count([bench.spectrometer], md={"campaign_id": "from-the-plan"}))
    (uid,) = ok.wait(30)
    lab.wait(30)
    start = lab.catalog[uid].metadata["start"]
    assert start["campaign_id"] == "from-the-plan" and start["operator"] == OPERATOR


def test_bad_submit_arguments(lab: Lab) -> None:
    with pytest.raises(TypeError, match="md must be a dict with string keys"):
        lab.submit(iter([]), md={1: "x"})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="sample_ids must be strings, got"):
        lab.submit(iter([]), sample_ids=[1, 2])  # type: ignore[list-item]
    with pytest.raises(TypeError, match=r"submit\(\) needs a Bluesky plan .* got str"):
        lab.submit("count")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="got function; call the plan function"):
        lab.submit(bp.count)  # type: ignore[arg-type]


def test_unknown_device_name_lists_the_devices(lab: Lab) -> None:
    with pytest.raises(UnknownDeviceError) as info:
        lab.devices["spectrometr"]
    message = str(info.value)
    assert message.startswith("no device named 'spectrometr'; devices in this lab: [")
    assert all(f"'{name}'" in message for name in ("dispenser", "reactor", "robot", "spectrometer"))
    assert isinstance(info.value, KeyError)
    assert lab.devices["spectrometer"] is lab.bench.spectrometer  # type: ignore[union-attr]


def test_a_campaign_id_the_plan_overrides_is_refused_not_ignored(lab: Lab) -> None:
    """Issue 18 #6: ``submit(campaign(...), campaign_id="x")`` recorded the plan's id silently."""
    import bluesky.plan_stubs as bps

    def plan():  # type: ignore[no-untyped-def]
        yield from bps.open_run(md={"campaign_id": "the-plans-own"})
        yield from bps.close_run()

    run = lab.submit(plan(), campaign_id="x")
    with pytest.raises(ValueError, match=r"campaign_id='x'.*campaign 'the-plans-own'"):
        run.wait(30)
    assert run.uids == []  # refused before the run opened: nothing recorded under a wrong id
    same = lab.submit(plan(), campaign_id="the-plans-own")
    (uid,) = same.wait(30)
    lab.wait(30)
    assert lab.catalog[uid].metadata["start"]["campaign_id"] == "the-plans-own"

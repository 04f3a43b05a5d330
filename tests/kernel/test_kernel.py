"""The Smart Lab kernel: installed kernelspec, namespace, magics, config errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from jupyter_client.manager import start_new_kernel

from smartlab_kernel.kernel import DISPLAY_NAME, LabConfig, install_kernelspec


def _run(client, code: str, timeout: float = 120) -> tuple[str, list[dict]]:
    msg_id = client.execute(code)
    stdout, errors = [], []
    while True:
        msg = client.get_iopub_msg(timeout=timeout)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream" and content["name"] == "stdout":
            stdout.append(content["text"])
        elif kind == "error":
            errors.append(content)
        elif kind == "status" and content["execution_state"] == "idle":
            return "".join(stdout), errors


@pytest.fixture
def kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    prefix = tmp_path / "prefix"
    path = install_kernelspec(prefix=str(prefix))
    spec = json.loads((Path(path) / "kernel.json").read_text())
    assert spec["display_name"] == DISPLAY_NAME
    monkeypatch.setenv("JUPYTER_PATH", str(prefix / "share" / "jupyter"))
    monkeypatch.setenv("SMARTLAB_DIRECTORY", str(tmp_path / "lab-data"))
    monkeypatch.setenv("SMARTLAB_TIME_SCALE", "5000")
    monkeypatch.setenv("SMARTLAB_OPERATOR", "kernel-test")
    manager, client = start_new_kernel(
        kernel_name="smartlab", cwd=str(tmp_path), startup_timeout=300
    )
    try:
        yield client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=False)


def test_the_kernel_starts_with_openmp_threads_that_sleep_between_regions(kernel) -> None:
    # Spinning OpenMP threads made a campaign in a kernel 6-9x slower beside other
    # busy processes; the policy is read when torch loads, so the kernelspec sets it.
    out, errors = _run(kernel, "import os, torch; print(os.environ.get('OMP_WAIT_POLICY'))")
    assert not errors, errors
    assert out.strip() == "PASSIVE"


def test_kernel_namespace_and_magics(kernel) -> None:
    out, errors = _run(
        kernel,
        "print(sorted(n for n in ['lab', 'dispenser', 'reactor', 'spectrometer', 'robot',"
        " 'measure_recipe', 'Recipe', 'campaign', 'bench_planner'] if n in globals()))",
    )
    assert not errors, errors
    assert "'lab'" in out and "'measure_recipe'" in out and "'spectrometer'" in out
    out, errors = _run(kernel, "%lab")
    assert not errors and '"state": "idle"' in out

    plan = (
        "%run_plan measure_recipe(Recipe({'a': 3, 'b': 2}, temperature_c=60, hold_s=20000),"
        " dispenser=dispenser, reactor=reactor, robot=robot, spectrometer=spectrometer)"
    )
    _, errors = _run(kernel, plan)
    assert not errors, errors
    out, errors = _run(
        kernel, "import time\ntime.sleep(0.5)\n%pause\ntime.sleep(0.3)\nprint(lab.current.state)"
    )
    assert not errors, errors
    assert out.strip().endswith("paused")
    _, errors = _run(kernel, "%resume")
    assert not errors, errors
    out, errors = _run(
        kernel,
        "run = lab.runs[-1]\nrun.wait(120)\n"
        "print(run.state, lab.catalog[run.uids[0]].metadata['start']['operator'])",
    )
    assert not errors, errors
    assert out.strip() == "finished kernel-test"

    out, errors = _run(
        kernel,
        "%%experiment first-light\nr = lab.submit(bp.count([spectrometer]))\nprint('started')",
    )
    assert not errors, errors
    out, errors = _run(
        kernel,
        "lab.wait(60)\nfrom tiled.queries import Key\n"
        "rec = lab.catalog.search(Key('start.plan_name') == 'experiment_record')\n"
        "md = rec[list(rec)[0]].metadata['start']\n"
        "count_md = lab.catalog[md['run_uids'][0]].metadata['start']\n"
        "print(md['experiment_name'], md['stdout'].strip(), count_md['experiment']['name'])",
    )
    assert not errors, errors
    assert out.strip() == "first-light started first-light"

    _, errors = _run(kernel, "%resume")
    assert errors and "no plan is paused" in errors[0]["evalue"]

    # %abort ends the running plan with the reason typed
    _, errors = _run(kernel, plan)
    assert not errors, errors
    out, errors = _run(
        kernel,
        "time.sleep(0.5)\n%abort wrong vial\nr = lab.runs[-1]\n"
        "deadline = time.monotonic() + 60\n"
        "while not r.done and time.monotonic() < deadline: time.sleep(0.05)\n"
        "print(r.state, '|', r.reason)",
    )
    assert not errors, errors
    assert out.strip().splitlines()[-1] == "aborted | wrong vial"

    # %lab shows the storage backlog and the room's unacknowledged alarms
    out, errors = _run(
        kernel,
        "lab.room.room.hoods['hood_1'].faults.inject('fan_failure')\n"
        "deadline = time.monotonic() + 30\n"
        "while not lab.status()['room']['unacknowledged_alarms'] "
        "and time.monotonic() < deadline: time.sleep(0.05)\n"
        "%lab",
    )
    assert not errors, errors
    assert '"storage_backlog"' in out and '"unacknowledged_alarms"' in out
    assert "hood_1" in out.split('"unacknowledged_alarms"')[1]
    # Wait for the hood to be safe again: bluesky prints "reports a return to
    # nominal conditions" from the monitor thread when it is, and that print
    # must not land in the next cell's output.
    out, errors = _run(
        kernel,
        "lab.room.room.hoods['hood_1'].faults.clear('fan_failure')\n"
        "deadline = time.monotonic() + 30\n"
        "while lab.status()['room']['interlocks_tripped'] "
        "and time.monotonic() < deadline: time.sleep(0.05)\n"
        "print('tripped:', lab.status()['room']['interlocks_tripped'])",
    )
    assert not errors, errors
    assert "tripped: []" in out, out

    # %suggest shows a PlannerReview and fills it with n suggestions
    out, errors = _run(
        kernel,
        "planner = bench_planner(seed=1)\nreview = %suggest 2\n"
        "deadline = time.monotonic() + 60\n"
        "while len(planner.pending) < 2 and time.monotonic() < deadline: time.sleep(0.05)\n"
        "print(f'{type(review).__name__} {len(planner.pending)}')",
    )
    assert not errors, errors
    # Another thread's print (bluesky's suspender writes its message and its
    # newline apart) may share the line, so match the end of a line.
    assert any(line.endswith("PlannerReview 2") for line in out.splitlines()), out
    # an accepted suggestion runs under the planner's campaign, naming the suggestion
    out, errors = _run(
        kernel,
        "s = planner.pending[0]\nassert review.accept(s.id)\nuids = lab.runs[-1].wait(120)\n"
        "lab.wait(60)\nstart = lab.catalog[uids[0]].metadata['start']\n"
        "print('accepted:', start.get('campaign_id') == planner.campaign_id, "
        "start.get('suggestion_id') == s.id)",
    )
    assert not errors, errors
    assert "accepted: True True" in out.splitlines(), out
    _, errors = _run(kernel, "%suggest two")
    assert errors and "whole number >= 1" in errors[0]["evalue"]


def test_lab_config_errors_name_the_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SMARTLAB_DIRECTORY", raising=False)
    bad = tmp_path / "lab.toml"
    bad.write_text("[lab]\nmode = 'simulated'\nspeed = 3\n")
    with pytest.raises(ValueError, match=r"unknown keys \['speed'\]"):
        LabConfig.load(bad)
    bad.write_text("[lab]\nmode = 'cloud'\n")
    with pytest.raises(ValueError, match="mode must be one of"):
        LabConfig.load(bad)
    bad.write_text("[lab\n")
    with pytest.raises(ValueError, match="not valid TOML"):
        LabConfig.load(bad)
    bad.write_text("[lab]\nmode = 'served'\n")
    with pytest.raises(ValueError, match="needs url"):
        LabConfig.load(bad)
    bad.write_text("[lab]\nroom = 'yes'\n")
    with pytest.raises(ValueError, match="room must be true or false, got 'yes'"):
        LabConfig.load(bad)
    with pytest.raises(FileNotFoundError):
        LabConfig.load(tmp_path / "missing.toml")
    monkeypatch.setenv("SMARTLAB_SEED", "x")
    with pytest.raises(ValueError, match="SMARTLAB_SEED"):
        LabConfig.load()
    good = tmp_path / "good.toml"
    good.write_text("[lab]\nseed = 7\ntime_scale = 50.0\n")
    monkeypatch.delenv("SMARTLAB_SEED")
    assert LabConfig.load(good) == LabConfig(seed=7, time_scale=50.0)
    assert os.environ.get("SMARTLAB_SEED") is None
    monkeypatch.setenv("SMARTLAB_ROOM", "0")
    assert LabConfig.load(good).room is False
    monkeypatch.setenv("SMARTLAB_ROOM", "maybe")
    with pytest.raises(ValueError, match="SMARTLAB_ROOM='maybe'"):
        LabConfig.load(good)


def test_served_mode_needs_a_reachable_server(tmp_path: Path) -> None:
    from smartlab_kernel.kernel import connect
    from smartlab_kernel.session.errors import SessionError

    config = LabConfig(mode="served", url="http://127.0.0.1:9", api_key="k" * 32)
    with pytest.raises(SessionError, match=r"cannot reach the lab server at http://127\.0\.0\.1:9"):
        connect(config, reuse=False)

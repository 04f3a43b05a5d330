"""Issue 18 #3: errors in the Smart Lab kernel, and ``%lab open`` / ``%lab log``.

A refusal the notebook catches prints nothing but what the notebook prints
(the RunEngine's traceback goes to the lab's log file); an error it does not
catch shows a short traceback from the user's cell.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.manager import start_new_kernel

from smartlab_kernel.kernel import install_kernelspec

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _run(client: Any, code: str, timeout: float = 120) -> dict[str, Any]:
    """Execute ``code``; return its stdout, stderr, error outputs and the reply's status."""
    msg_id = client.execute(code)
    out: dict[str, Any] = {"stdout": "", "stderr": "", "errors": []}
    while True:
        msg = client.get_iopub_msg(timeout=timeout)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            out[content["name"]] += content["text"]
        elif kind == "error":
            out["errors"].append(content)
        elif kind == "status" and content["execution_state"] == "idle":
            break
    while True:
        reply = client.get_shell_msg(timeout=timeout)
        if reply["parent_header"].get("msg_id") == msg_id:
            out["status"] = reply["content"]["status"]
            return out


@pytest.fixture
def kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    prefix = tmp_path / "prefix"
    install_kernelspec(prefix=str(prefix))
    monkeypatch.setenv("JUPYTER_PATH", str(prefix / "share" / "jupyter"))
    monkeypatch.setenv("SMARTLAB_DIRECTORY", str(tmp_path / "kernel-lab"))
    monkeypatch.setenv("SMARTLAB_ROOM", "0")
    manager, client = start_new_kernel(
        kernel_name="smartlab", cwd=str(tmp_path), startup_timeout=300
    )
    try:
        yield client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=False)


REFUSED = "measure_recipe(Recipe({'a': 80.0}), **{k: lab.devices[k] for k in lab.devices})"


def test_errors_in_the_notebook(kernel: Any, tmp_path: Path) -> None:
    # %lab open: a fresh simulated lab of the notebook's own, in the namespace
    opened = _run(kernel, "%lab open lab-data/mine --fresh --seed 3 --time-scale 5000")
    assert opened["status"] == "ok", opened
    mine = (tmp_path / "lab-data" / "mine").resolve()
    assert opened["stdout"].strip() == (
        "lab: simulated bench, seed 3, 5000 simulated s per s, in lab-data/mine (empty catalog)"
    )
    checked = _run(kernel, "print(lab.directory, lab.seed, reactor is lab.devices['reactor'])")
    assert checked["stdout"].split() == [str(mine), "3", "True"]

    # a refusal the notebook catches: one line, no traceback anywhere
    handled = _run(
        kernel,
        f"try:\n    lab.submit({REFUSED}).wait(60)\nexcept Exception as error:\n"
        "    print('refused:', error)",
    )
    assert handled["status"] == "ok" and not handled["errors"]
    assert handled["stdout"].strip() == (
        "refused: dispenser_a dispense volume 80.0 mL is outside the allowed range [0, 10] mL"
    )
    assert handled["stderr"] == "", "the RunEngine's log of the failed plan reached the notebook"

    # ... it is in the lab's log, which %lab log shows
    log = _run(kernel, "%lab log")
    assert log["status"] == "ok"
    assert log["stdout"].startswith("the last ")
    assert "Run aborted" in log["stdout"] and "LimitError: dispenser_a dispense" in log["stdout"]
    assert "Traceback (most recent call last)" in (mine / "lab.log").read_text()

    # bluesky's own warnings (its module logger, no lab's) go to the lab's log too
    warned = _run(
        kernel,
        "import logging\nlogging.getLogger('bluesky').warning('No open traces left to close!')",
    )
    assert warned["status"] == "ok" and warned["stderr"] == "", warned
    assert "WARNING bluesky: No open traces left to close!" in (mine / "lab.log").read_text()

    # an error the notebook does not catch: a short traceback, from the user's cell
    failed = _run(kernel, f"run = lab.submit({REFUSED})\nrun.wait(60)")
    assert failed["status"] == "error"
    (error,) = failed["errors"]
    assert error["ename"] == "LimitError"
    text = ANSI.sub("", "\n".join(error["traceback"]))
    assert "run.wait(60)" in text  # the user's line
    assert "run_engine.py" not in text and "site-packages/bluesky" not in text
    assert "smartlab_kernel/session" not in text
    assert len(text.splitlines()) < 15, text
    assert re.search(r"\(\d+ frames inside smartlab_kernel, bluesky and .* hidden; %tb shows", text)
    assert "opentelemetry" not in text
    assert failed["stderr"] == ""
    assert text.count("Traceback") <= 1
    # ... and whole in the lab's log, and in %tb
    assert "unhandled error in a notebook cell" in (mine / "lab.log").read_text()
    full = _run(kernel, "%tb")
    assert "run_engine.py" in ANSI.sub("", "\n".join(full["errors"][0]["traceback"]))

    # an error of the user's own code is shown as IPython shows it
    own = _run(kernel, "1 / 0")
    own_text = ANSI.sub("", "\n".join(own["errors"][0]["traceback"]))
    assert own["errors"][0]["ename"] == "ZeroDivisionError" and "hidden" not in own_text

    # a failing %%experiment cell stops Run All with one line after its error
    experiment = _run(kernel, "%%experiment broken\nprint('before')\n1 / 0")
    assert experiment["status"] == "error"
    assert [e["ename"] for e in experiment["errors"]] == ["ZeroDivisionError", "ExperimentFailed"]
    assert experiment["errors"][1]["traceback"] == [
        "ExperimentFailed: experiment 'broken' failed (ZeroDivisionError, shown above); "
        "its record says so"
    ]
    assert experiment["stdout"].strip() == "before"


def test_lab_open_and_log_refuse_bad_arguments(kernel: Any, tmp_path: Path) -> None:
    other = tmp_path / "notes"
    other.mkdir()
    (other / "thesis.txt").write_text("not lab data")
    for line, message in [
        ("%lab open", "the following arguments are required: directory"),
        ("%lab open x --seed -1", "--seed must be a whole number >= 0, got -1"),
        ("%lab open x --time-scale 0", "--time-scale must be a number > 0, got 0"),
        ("%lab open x --speed 3", "unrecognized arguments: --speed 3"),
        ("%lab open x --response nothing", "there is no variable 'nothing'"),
        (f"%lab open {other} --fresh", "it holds ['thesis.txt'], which no lab writes"),
        ("%lab close", "unknown %lab command 'close'"),
        ("%lab log two", "got 'two'"),
    ]:
        result = _run(kernel, line)
        assert result["status"] == "error", line
        # a usage error is one line on stderr; a bad value, a short traceback
        said = result["stderr"] + "".join(error["evalue"] for error in result["errors"])
        assert message in said, (line, result)
    assert (other / "thesis.txt").read_text() == "not lab data"
    status = _run(kernel, "%lab")  # the kernel's own lab is still there
    assert json.loads(status["stdout"])["directory"] == str((tmp_path / "kernel-lab").resolve())
    # the refusal the notebook did not catch is in the log, whole
    logged = _run(kernel, "%lab log 5")["stdout"]
    assert logged.startswith("the last entry of ")
    assert "unhandled error in a notebook cell" in logged and "clear_lab_directory" in logged
    _run(kernel, "%lab open lab-data/empty --fresh")
    empty = _run(kernel, "%lab log")
    assert empty["stdout"].strip().endswith("lab.log is empty")


def test_a_kernel_whose_lab_is_in_use_still_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two notebooks started at once in one folder: the second kernel's default lab is taken."""
    from smartlab_kernel.storage.lock import LabDirectoryLock

    prefix = tmp_path / "prefix"
    install_kernelspec(prefix=str(prefix))
    monkeypatch.setenv("JUPYTER_PATH", str(prefix / "share" / "jupyter"))
    monkeypatch.setenv("SMARTLAB_DIRECTORY", str(tmp_path / "taken"))
    lock = LabDirectoryLock(tmp_path / "taken")
    lock.acquire()  # another notebook's lab
    manager, client = start_new_kernel(
        kernel_name="smartlab", cwd=str(tmp_path), startup_timeout=300
    )
    try:
        status = _run(client, "%lab")
        assert status["status"] == "error"
        (error,) = status["errors"]
        assert error["ename"] == "SessionError"
        assert "the kernel could not open its lab (LabInUseError" in error["evalue"]
        assert "open one with %lab open DIRECTORY" in error["evalue"]
        opened = _run(client, "%lab open own --fresh\nprint(lab.seed, sorted(lab.devices))")
        assert opened["status"] == "ok", opened
        assert opened["stdout"].splitlines()[-1] == (
            "0 ['dispenser', 'reactor', 'robot', 'spectrometer']"
        )
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=False)
        lock.release()

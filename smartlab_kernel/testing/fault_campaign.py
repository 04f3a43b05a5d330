"""A randomized fault campaign: campaigns under pauses, interlocks, aborts, crashes, outages.

Each trial runs a closed-loop campaign (batch 1 to 4) on the simulated lab
while an adversary interleaves, at seeded random moments: a pause and
resume, a safety interlock trip (a hood's fan fails for a while), an abort,
a second lab opened on the same directory, a full disk, a catalog outage
(the catalog server process stopped with ``SIGSTOP``), or ``kill -9`` of
the process running the campaign (then the lab is reopened, recovered, and
the campaign resumed from the catalog). After every trial these invariants
are checked (:func:`check_invariants`):

1. every run recorded as a success met its recipe (hold time, temperature,
   volumes), as the bench really did it (:class:`TruthRecorder`);
2. every event emitted (before a crash too) is in the catalog, and every
   run has its stop document;
3. the planner rebuilt from the catalog observes each successful
   experiment exactly once and fails each failed one exactly once;
4. LIMS stock equals the bench's reservoirs (initial stock minus the
   dispenses that really happened);
5. no suggestion id is used by two experiments;
6. a second opener is refused.

``benchmarks/fault_campaign.py`` runs many trials and writes them to JSON;
the test suite runs a few.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..campaign.loop import bench_planner, campaign, resume_planner
from ..campaign.stored_runs import campaign_runs
from ..session import Lab
from ..storage import LabInUseError
from .disk import FullDisk
from .fault_truth import RunTruth, TruthRecorder, read_truth, recipe_problems

#: Faults an in-process trial draws from.
IN_PROCESS_FAULTS = (
    "pause",
    "interlock",
    "abort",
    "second_opener",
    "full_disk",
    "catalog_outage",
)
#: Simulated seconds per real second of the trials' labs.
TIME_SCALE = 10_000.0
#: Reservoir capacity per stock: large enough that a trial never runs dry.
STOCKS = {"a": 10_000.0, "b": 10_000.0}


@dataclass
class TrialResult:
    """One trial: its settings, the faults injected, and the invariants it broke."""

    trial: int
    seed: int
    kind: str
    batch: int
    budget: int
    faults: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    runs: int = 0
    outcome: str = ""
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready record."""
        return asdict(self)


def check_invariants(
    lab: Lab, campaign_id: str, truth: dict[str, RunTruth], check_stock: bool = True
) -> list[str]:
    """Check the fault campaign's invariants for one campaign; return the violations."""
    violations: list[str] = []
    lab.wait(300)
    if lab.recovering:
        violations.append(f"{lab.recovering} runs still recovering after lab.wait()")
    runs = campaign_runs(lab.catalog, campaign_id)
    by_uid = {run.metadata["start"]["uid"]: run for run in runs}
    succeeded: set[str] = set()
    ended: set[str] = set()
    suggestion_ids: Counter[str] = Counter()
    for uid, run in by_uid.items():
        start, stop = run.metadata["start"], run.metadata.get("stop")
        sid = (start.get("suggestion") or {}).get("id")
        if sid is not None:
            suggestion_ids[sid] += 1
        if not stop:
            violations.append(f"run {uid[:8]} has no stop document")
            continue
        stored_events = int((stop.get("num_events") or {}).get("primary", 0))
        noted = truth.get(uid)
        if noted is not None and noted.events > stored_events:
            violations.append(
                f"run {uid[:8]}: {noted.events} events emitted, {stored_events} stored"
            )
        if stop["exit_status"] == "success":
            if noted is None:
                violations.append(f"run {uid[:8]} is a success the bench never saw run")
            else:
                violations += [f"run {uid[:8]} success but {p}" for p in recipe_problems(noted)]
            if sid is not None:
                succeeded.add(sid)
        if sid is not None:
            ended.add(sid)
    for uid in set(truth) - set(by_uid):
        if truth[uid].campaign_id == campaign_id:
            violations.append(f"run {uid[:8]} started but is not in the catalog")
    violations += [f"suggestion {s} ran {n} times" for s, n in suggestion_ids.items() if n > 1]
    violations += _planner_violations(lab, campaign_id, succeeded, ended)
    if check_stock and lab.lims is not None:
        violations += _stock_violations(lab)
        violations += [f"LIMS could not record: {p}" for p in lab.lims.problems]
        lab.lims.problems.clear()  # reported once, with the trial that made them
    return violations


def _planner_violations(
    lab: Lab, campaign_id: str, succeeded: set[str], ended: set[str]
) -> list[str]:
    try:
        planner = resume_planner(lab, campaign_id)
    except LookupError:
        return [] if not ended else [f"campaign {campaign_id} ran experiments but has no records"]
    violations = []

    def ids(event: str, key: str = "suggestion_id") -> Counter[str]:
        return Counter(str(r.get(key)) for r in planner.history if r.get("event") == event)

    observed, failed, suggested = ids("observe"), ids("fail"), ids("suggest", "id")
    violations += [f"planner observed {s} {n} times" for s, n in observed.items() if n > 1]
    violations += [f"planner failed {s} {n} times" for s, n in failed.items() if n > 1]
    violations += [f"planner suggested id {s} {n} times" for s, n in suggested.items() if n > 1]
    missing = succeeded - set(observed)
    if missing:
        violations.append(f"successful experiments {sorted(missing)} not observed by the planner")
    extra = set(observed) - succeeded
    if extra:
        violations.append(f"planner observed {sorted(extra)}, which did not succeed")
    unended = (ended - succeeded) - set(failed)
    if unended:
        violations.append(f"failed experiments {sorted(unended)} not failed in the planner")
    both = set(observed) & set(failed)
    if both:
        violations.append(f"experiments {sorted(both)} both observed and failed")
    planner.close()
    return violations


def _stock_violations(lab: Lab) -> list[str]:
    assert lab.lims is not None
    remaining = lab.lims.dispenser.remaining()
    violations = []
    for pump, item in lab.lims.stocks.items():
        amount = lab.lims.store.get_item(item).amount
        if abs(amount - remaining[pump]) > 1e-6:
            violations.append(
                f"LIMS holds {amount:.6g} mL of {item}, the reservoir {remaining[pump]:.6g} mL"
            )
    return violations


class Adversary:
    """Injects one fault into a running campaign (see the module docstring)."""

    def __init__(self, lab: Lab, rng: random.Random, disk: FullDisk) -> None:
        self.lab = lab
        self.rng = rng
        self.disk = disk

    def inject(self, fault: str, run: Any) -> str:
        """Inject ``fault``; return what was done (or why nothing could be)."""
        action: Callable[[Any], str] = getattr(self, f"_{fault}")
        return action(run)

    def _pause(self, run: Any) -> str:
        try:
            self.lab.pause(reason="fault campaign pause")
        except Exception as exc:
            return f"pause skipped ({exc})"
        _wait_until(lambda: run.state == "paused" or run.done, 30)
        time.sleep(self.rng.uniform(0.05, 0.5))
        if run.state == "paused":
            self.lab.resume()
        return "pause"

    def _interlock(self, run: Any) -> str:
        room = getattr(self.lab, "room", None)
        if room is None:
            return "interlock skipped (no room)"
        hood = room.room.hoods["hood_1"]
        hood.faults.inject("fan_failure")
        try:
            time.sleep(self.rng.uniform(0.1, 0.6))
        finally:
            hood.faults.clear("fan_failure")
        return "interlock"

    def _abort(self, run: Any) -> str:
        self.lab.abort("fault campaign abort")
        return "abort"

    def _second_opener(self, run: Any) -> str:
        try:
            second = Lab(devices={}, directory=self.lab.directory)
        except LabInUseError:
            return "second_opener refused"
        second.close()
        return "VIOLATION: a second lab opened the directory for writing"

    def _full_disk(self, run: Any) -> str:
        refused = self.disk.refused
        self.disk.fill()
        try:
            time.sleep(self.rng.uniform(0.05, 0.4))
        finally:
            self.disk.free()
        if self.disk.refused == refused:
            return "full_disk (nothing written meanwhile)"
        # A refused write pauses the run (from another thread, a moment later).
        _wait_until(lambda: run.done or run.state == "paused", 30)
        return "full_disk" if resume_when_paused(self.lab, run) else "full_disk (run ended)"

    def _catalog_outage(self, run: Any) -> str:
        pid = getattr(self.lab._catalog, "server_pid", None)
        if pid is None:
            return "catalog_outage skipped (no server process)"
        os.kill(pid, signal.SIGSTOP)
        try:
            time.sleep(self.rng.uniform(0.1, 1.0))
        finally:
            os.kill(pid, signal.SIGCONT)
        return "catalog_outage"


def resume_when_paused(lab: Lab, run: Any, timeout: float = 30.0) -> bool:
    """Resume ``run`` if it is paused (retrying while its held documents cannot be written yet)."""
    deadline = time.monotonic() + timeout
    while run.state == "paused" and time.monotonic() < deadline:
        try:
            lab.resume()
        except Exception:
            time.sleep(0.05)
        else:
            return True
    return False


def _wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


class InProcessTrials:
    """Trials on one long-lived lab (room and LIMS attached) in this process.

    Args:
        directory: The lab directory.
        seed: Seed of the bench.
    """

    def __init__(self, directory: Path, seed: int = 0) -> None:
        self.lab = Lab.simulated(
            seed=seed,
            directory=directory,
            time_scale=TIME_SCALE,
            stocks=STOCKS,
            room=True,
            lims=True,
            device_timeout=5.0,
        )
        assert self.lab.bench is not None
        self.truth = TruthRecorder(self.lab.bench.world)
        self.lab.subscribe(self.truth)
        self.disk = FullDisk()

    def run(self, index: int, rng: random.Random) -> TrialResult:
        """Run one trial with faults drawn from ``rng``."""
        started = time.monotonic()
        batch = rng.randint(1, 4)
        budget = rng.randint(batch, batch + 2)
        result = TrialResult(index, rng.randrange(2**31), "in_process", batch, budget)
        planner = bench_planner(seed=result.seed % 1000, initial_design=budget)
        planner.campaign_id = f"fault-{index:04d}-{uuid.uuid4().hex[:6]}"
        run = self.lab.submit(campaign(self.lab, planner, budget=budget, batch=batch))
        adversary = Adversary(self.lab, rng, self.disk)
        faults = rng.sample(IN_PROCESS_FAULTS, rng.randint(1, 3))
        for fault in faults:
            time.sleep(rng.uniform(0.0, 0.8))
            if run.done:
                break
            done = adversary.inject(fault, run)
            result.faults.append(done)
            if done.startswith("VIOLATION"):
                result.violations.append(done)
        deadline = time.monotonic() + 600
        paused_since: float | None = None
        aborted = "abort" in result.faults
        while not run.done and time.monotonic() < deadline:
            if run.state != "paused" or aborted:
                paused_since = None
            elif paused_since is None:
                paused_since = time.monotonic()
            elif time.monotonic() - paused_since > 2.0 and resume_when_paused(self.lab, run):
                # a pause the adversary did not end (e.g. a late full-disk pause)
                result.faults.append("late pause resumed")
                paused_since = None
            time.sleep(0.05)
        try:
            run.wait(0 if run.done else 1)
        except TimeoutError:
            result.violations.append("campaign did not end within 600 s")
            self.lab.abort("fault campaign: trial timed out")
            run.wait(120)
        except Exception as exc:
            result.outcome = f"{type(exc).__name__}: {exc}"[:300]
        result.outcome = result.outcome or run.state
        result.violations += check_invariants(self.lab, planner.campaign_id, self.truth.runs)
        result.runs = len(campaign_runs(self.lab.catalog, planner.campaign_id))
        planner.close()
        result.seconds = time.monotonic() - started
        return result

    def close(self) -> None:
        """Close the lab and undo the full-disk patch."""
        self.disk.restore()
        self.lab.close()


def kill_trial(index: int, rng: random.Random, workdir: Path) -> TrialResult:
    """Run a campaign in a worker process, ``kill -9`` it, recover, resume, and check.

    The worker (:mod:`smartlab_kernel.testing.fault_worker`) notes what the
    bench did in a file; after the kill, a lab reopened here recovers the
    directory, the invariants are checked, the campaign is resumed from the
    catalog to its budget, and they are checked again.
    """
    started = time.monotonic()
    batch = rng.randint(1, 4)
    budget = rng.randint(batch + 1, batch + 3)
    result = TrialResult(index, rng.randrange(2**31), "kill", batch, budget)
    directory = workdir / f"kill-{index:04d}"
    notes = directory.with_suffix(".truth")
    campaign_id = f"kill-{index:04d}-{uuid.uuid4().hex[:6]}"
    command = [
        sys.executable,
        "-m",
        "smartlab_kernel.testing.fault_worker",
        str(directory),
        str(notes),
        f"--campaign-id={campaign_id}",
        f"--seed={result.seed % 1000}",
        f"--budget={budget}",
        f"--batch={batch}",
    ]
    kill_after = rng.randint(1, 2 * budget)  # noted lines: starts and events
    log = directory.with_suffix(".log")
    with open(log, "wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 300
            while _count_lines(notes) < kill_after and process.poll() is None:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, 0.3))
            if process.poll() is None:
                os.kill(process.pid, signal.SIGKILL)
                result.faults.append("kill -9")
            else:
                result.faults.append(f"worker ended first ({process.returncode})")
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(60)
    truth = read_truth(notes)
    with Lab.simulated(
        seed=result.seed % 1000,
        directory=directory,
        time_scale=TIME_SCALE,
        stocks=STOCKS,
        lims=True,
        device_timeout=5.0,
    ) as lab:
        assert lab.bench is not None
        result.violations += check_invariants(lab, campaign_id, truth, check_stock=False)
        recorder = TruthRecorder(lab.bench.world)
        lab.subscribe(recorder)
        try:
            planner = resume_planner(lab, campaign_id)
        except LookupError:
            planner = bench_planner(seed=result.seed % 1000, initial_design=budget)
            planner.campaign_id = campaign_id
        done = len(campaign_runs(lab.catalog, campaign_id))
        if done < budget:
            run = lab.submit(campaign(lab, planner, budget=budget - done, batch=batch))
            try:
                run.wait(600)
            except Exception as exc:
                result.outcome = f"resumed campaign: {type(exc).__name__}: {exc}"[:300]
        planner.close()
        truth.update(recorder.runs)
        result.violations += [
            f"after resume: {v}" for v in check_invariants(lab, campaign_id, truth, False)
        ]
        result.runs = len(campaign_runs(lab.catalog, campaign_id))
    result.outcome = result.outcome or "resumed"
    result.seconds = time.monotonic() - started
    return result


def _count_lines(path: Path) -> int:
    try:
        with open(path, "rb") as file:
            return sum(1 for _ in file)
    except FileNotFoundError:
        return 0


def run_fault_campaign(
    trials: int,
    workdir: Path,
    seed: int = 0,
    kill_every: int = 8,
    on_trial: Callable[[TrialResult], None] | None = None,
) -> list[TrialResult]:
    """Run ``trials`` trials (every ``kill_every``-th a kill trial); return their results.

    Args:
        trials: How many.
        workdir: Folder for the lab directories.
        seed: Seed of every random choice.
        kill_every: One trial in this many kills the campaign's process (0: never).
        on_trial: Called with each result as it is done (e.g. to print progress).
    """
    rng = random.Random(seed)
    workdir.mkdir(parents=True, exist_ok=True)
    shared = InProcessTrials(workdir / "shared-lab", seed=seed)
    results = []
    try:
        for index in range(trials):
            trial_rng = random.Random(rng.randrange(2**63))
            if kill_every and index % kill_every == kill_every - 1:
                result = kill_trial(index, trial_rng, workdir)
            else:
                result = shared.run(index, trial_rng)
            results.append(result)
            if on_trial is not None:
                on_trial(result)
    finally:
        shared.close()
    return results

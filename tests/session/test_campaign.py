"""The closed loop: suggest -> review -> run -> read from the catalog -> observe."""

from __future__ import annotations

from pathlib import Path

import pytest
from tiled.queries import Key

from smartlab_kernel import Lab
from smartlab_kernel.campaign.loop import bench_planner, campaign, resume_planner
from smartlab_kernel.planner import OutOfBoundsError


@pytest.fixture
def lab(tmp_path: Path):
    lab = Lab.simulated(seed=1, directory=tmp_path / "lab", time_scale=20000)
    yield lab
    lab.close()


def _measure_runs(lab: Lab, campaign_id: str):
    found = lab.catalog.search(Key("start.campaign_id") == campaign_id).search(
        Key("start.plan_name") == "measure_recipe"
    )
    return sorted((found[uid] for uid in found), key=lambda r: r.metadata["start"]["time"])


def test_reviewed_campaign_records_suggested_and_executed(lab: Lab) -> None:
    planner = bench_planner(seed=0, initial_design=3)

    def review(suggestions):
        return [True, {"temperature_c": 50.0}, "no reagent"][: len(suggestions)]

    # budget counts experiments run: the rejected one is replaced in a second round
    run = lab.submit(campaign(lab, planner, budget=3, batch=3, approve=review))
    run.wait(120)
    results = run.result
    lab.wait(60)
    assert [r.decision for r in results] == ["accept", "edit", "accept"]
    runs = _measure_runs(lab, planner.campaign_id)
    assert len(runs) == 3
    edited = runs[1].metadata["start"]
    assert edited["suggestion"]["decision"] == "edit"
    assert edited["executed"]["temperature_c"] == 50.0
    assert edited["suggestion"]["params"]["temperature_c"] != 50.0
    # the planner learned exactly what the catalog holds
    stored = [float(r["primary"].read()["spectrometer_readout"][0]) for r in runs]
    assert planner.observations["yield"].tolist() == pytest.approx(stored)
    # a round's rejections are recorded at review, before its experiments run
    decisions = [rec.get("decision") for rec in planner.history if rec["event"] != "suggest"]
    assert decisions == ["reject", "accept", "edit", "accept"]


def test_a_campaign_run_knows_its_total_from_the_budget(lab: Lab) -> None:
    planner = bench_planner(seed=0, initial_design=2)
    progress: list[tuple[int, int | None]] = []
    run = lab.submit(campaign(lab, planner, budget=3))
    run.on_change(lambda r: progress.append((r.events, r.expected_events)))
    run.wait(120)
    lab.wait(60)
    # one point per experiment; the total is the budget from the first experiment on
    assert (run.events, run.expected_events) == (3, 3)
    assert all(total == 3 for events, total in progress if events > 0)
    starts = [r.metadata["start"] for r in _measure_runs(lab, planner.campaign_id)]
    assert [(s["campaign_experiment"], s["campaign_budget"]) for s in starts] == [
        (1, 3),
        (2, 3),
        (3, 3),
    ]


def test_bad_edit_fails_before_anything_moves(lab: Lab) -> None:
    planner = bench_planner(seed=0, initial_design=2)
    remaining = lab.devices["dispenser"].remaining()
    run = lab.submit(campaign(lab, planner, budget=1, approve=lambda s: [{"temperature_c": 500.0}]))
    with pytest.raises(OutOfBoundsError, match="500"):
        run.wait(60)
    assert lab.devices["dispenser"].remaining() == remaining
    assert planner.observations.empty


def test_nan_reading_is_learned_as_a_failure_and_campaign_goes_on(lab: Lab) -> None:
    planner = bench_planner(seed=0, initial_design=2)
    lab.devices["spectrometer"].faults.inject("nan")
    run = lab.submit(campaign(lab, planner, budget=2))
    run.wait(120)
    results = run.result
    assert [r.outcomes for r in results] == [None, None]
    assert all("nan" in (r.error or "") for r in results)
    assert [rec["event"] for rec in planner.history if rec["event"] != "suggest"] == ["fail"] * 2


def test_a_device_timeout_is_learned_with_the_devices_own_error(lab: Lab) -> None:
    planner = bench_planner(seed=0, initial_design=2)
    spectrometer = lab.devices["spectrometer"]
    spectrometer.timeout = 0.2
    spectrometer.faults.inject("timeout")
    run = lab.submit(campaign(lab, planner, budget=1))
    run.wait(120)
    (result,) = run.result
    assert result.outcomes is None
    # the reason is the device's error, not bluesky's "FailedStatus: DeviceStatus(...)"
    (failure,) = [rec for rec in planner.history if rec["event"] == "fail"]
    assert failure["reason"].startswith("DeviceTimeoutError: spectrometer did not finish")
    assert result.error == failure["reason"]


def test_resume_from_catalog_gives_the_same_next_suggestion(tmp_path: Path) -> None:
    directory = tmp_path / "lab"
    with Lab.simulated(seed=1, directory=directory, time_scale=20000) as lab:
        planner = bench_planner(seed=3, initial_design=2)
        lab.submit(campaign(lab, planner, budget=3)).wait(120)
        lab.wait(60)
    with Lab.simulated(seed=1, directory=directory, time_scale=20000) as lab:
        restored = resume_planner(lab, planner.campaign_id)
        assert restored.history == planner.history
        assert restored.suggest(1)[0].params == planner.suggest(1)[0].params
        with pytest.raises(LookupError, match="no planner records"):
            resume_planner(lab, "no-such-campaign")


def test_campaign_rejects_bad_arguments(lab: Lab) -> None:
    planner = bench_planner()
    with pytest.raises(ValueError, match="budget"):
        next(campaign(lab, planner, budget=0))
    with pytest.raises(TypeError, match="approve"):
        lab.submit(campaign(lab, planner, budget=1, approve=lambda s: [42])).wait(60)


def test_an_aborted_campaign_runs_nothing_more(lab: Lab) -> None:
    """Found by the fault campaign: _run_one caught bluesky's RequestAbort as a failed
    experiment, so after lab.abort() the campaign went on to run (and record as
    successes) the rest of its experiments while the RunEngine was 'aborting'."""
    import time

    planner = bench_planner(seed=3, initial_design=3)
    planner.campaign_id = "aborted-campaign"
    run = lab.submit(campaign(lab, planner, budget=3, batch=3))
    deadline = time.monotonic() + 60
    while not run.uids and time.monotonic() < deadline:
        time.sleep(0.005)
    lab.abort("operator stopped the campaign")
    run.wait(60)
    lab.wait(60)
    assert run.state == "aborted"
    found = lab.catalog.search(Key("start.campaign_id") == "aborted-campaign")
    measured = [
        found[uid].metadata
        for uid in found
        if found[uid].metadata["start"]["plan_name"] == "measure_recipe"
    ]
    assert [m["stop"]["exit_status"] for m in measured] == ["abort"]
    failed = [r for r in planner.history if r["event"] == "fail"]
    assert [r["reason"] for r in failed] == ["operator stopped the campaign"]
    assert not [r for r in planner.history if r["event"] == "observe"]


def test_a_campaign_stops_loudly_rather_than_read_a_run_the_catalog_has_not_verified(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An experiment not verified in the catalog in time stops the campaign, naming it.

    Here verification always fails, so the run is shipped again and again and
    never verified; reading it then could see a half-written run.
    """
    from smartlab_kernel.campaign import loop
    from smartlab_kernel.storage import StorageError, VerificationError
    from smartlab_kernel.storage import shipper as shipper_module

    def never(node: object, records: object) -> None:
        raise VerificationError("injected: the catalog disagrees")

    monkeypatch.setattr(loop, "SHIPPED_TIMEOUT", 3.0)
    monkeypatch.setattr(shipper_module, "verify_run", never)
    planner = bench_planner(seed=0, initial_design=1)
    run = lab.submit(campaign(lab, planner, budget=1))
    with pytest.raises(StorageError, match="not verified in the catalog after 3 s") as info:
        run.wait(120)
    assert "injected: the catalog disagrees" in str(info.value)
    assert run.state == "failed"
    monkeypatch.undo()  # verification works again: the run is kept, nothing is lost
    assert lab.storage.wait_shipped(60)
    assert len(_measure_runs(lab, planner.campaign_id)) == 1

"""Replaying plans against recorded runs, without a lab (smartlab_kernel.publish.recorded_plans)."""

from __future__ import annotations

from typing import Any

import bluesky.plan_stubs as bps
import bluesky.preprocessors as bpp
import pytest

from smartlab_kernel.publish import NotRecordedError, RecordedRun, RecordedRunFailed, Recording
from smartlab_kernel.publish.recorded_plans import differences, replay_plan


def _run(
    uid: str, temperature: float, exit_status: str = "success", reason: str = ""
) -> RecordedRun:
    start = {"uid": uid, "plan_name": "measure", "recipe": {"temperature_c": temperature}}
    return RecordedRun(start, {"exit_status": exit_status, "reason": reason})


def _measure(temperature: float, seen: list[str]) -> Any:
    @bpp.run_decorator(md={"plan_name": "measure", "recipe": {"temperature_c": temperature}})
    def inner() -> Any:
        yield from bps.checkpoint()
        seen.append("measured")
        yield from bps.null()

    return (yield from inner())


def test_each_run_gets_the_recorded_run_of_its_arguments_in_order() -> None:
    recording = Recording([_run("u1", 60.0), _run("u2", 70.0), _run("u3", 60.0)], "test")
    seen: list[str] = []

    def two() -> Any:
        first = yield from _measure(60.0, seen)
        second = yield from _measure(60.0 * (1 + 1e-9), seen)  # within the tolerance
        third = yield from _measure(70.0, seen)
        return [first, second, third]

    assert replay_plan(two(), recording, {}) == ["u1", "u3", "u2"]
    assert seen == ["measured"] * 3
    # Handed out again after every match was taken (a cell executed twice) ...
    assert replay_plan(_measure(70.0, seen), recording, {}) == "u2"
    recording.rewind()  # ... and from the first after a rewind
    assert replay_plan(_measure(60.0, seen), recording, {}) == "u1"


def test_a_plan_not_recorded_is_refused_naming_the_nearest_run() -> None:
    recording = Recording([_run("u1", 60.0), _run("u2", 90.0)], "bundle b")
    closed: list[bool] = []

    def plan() -> Any:
        try:
            yield from _measure(85.0, [])
        finally:
            closed.append(True)

    with pytest.raises(NotRecordedError) as refused:
        replay_plan(plan(), recording, {})
    message = str(refused.value)
    assert "was not recorded in bundle b" in message
    assert "nearest recorded run is u2" in message
    assert "recipe.temperature_c: given 85, recorded 90" in message
    assert closed == [True], "the plan is closed, not told (it cannot take it as a failure)"


def test_a_recorded_failure_fails_the_plan_again_with_its_reason() -> None:
    recording = Recording([_run("u1", 60.0, "fail", "spectrometer_readout read nan")], "test")
    messages: list[str] = []

    def plan() -> Any:
        try:
            yield from _measure(60.0, messages)
        except RecordedRunFailed as exc:
            return f"failed: {exc}"
        return "succeeded"

    assert replay_plan(plan(), recording, {}) == "failed: spectrometer_readout read nan"
    assert messages == [], "the failure is raised where the run's body began"


def test_submitted_metadata_is_matched_too() -> None:
    run = RecordedRun(
        {
            "uid": "u1",
            "plan_name": "measure",
            "recipe": {"temperature_c": 60.0},
            "campaign_id": "c",
        },
        {"exit_status": "success"},
    )
    assert replay_plan(_measure(60.0, []), Recording([run], "t"), {"campaign_id": "c"}) == "u1"
    with pytest.raises(NotRecordedError, match="campaign_id: given 'd', recorded 'c'"):
        replay_plan(_measure(60.0, []), Recording([run], "t"), {"campaign_id": "d"})


def test_differences_name_each_leaf() -> None:
    assert differences({"a": 1.0, "b": [1, 2]}, {"a": 1.0, "b": [1, 2]}) == []
    assert differences({"a": 1.0}, {"a": 2.0, "c": "x"}) == [
        "a: given 1, recorded 2",
        "c: given nothing, recorded 'x'",
    ]
    assert differences([1], [1, 2]) == [": given '1 items', recorded '2 items'"]

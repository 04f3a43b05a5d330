"""AlarmLog: raise, acknowledge with operator, clear, persistence, threads."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from smartlab_kernel.management.alarms import AlarmLog


def test_acknowledgement_is_recorded_with_operator_and_comment(tmp_path: Path) -> None:
    log = AlarmLog(tmp_path / "alarms.jsonl")
    alarm = log.raise_alarm("hood_1", "face velocity 0.02 m/s", severity="critical")
    assert log.unacknowledged() == [alarm]
    log.acknowledge(alarm.alarm_id, "ada", "fan belt replaced")
    assert alarm.acknowledged_by == "ada" and alarm.comment == "fan belt replaced"
    assert alarm.acknowledged_at is not None and alarm.acknowledged_at >= alarm.raised_at
    assert log.unacknowledged() == [] and log.active() == [alarm]
    log.clear(alarm.alarm_id)
    assert log.active() == []
    events = [
        json.loads(line)["event"] for line in (tmp_path / "alarms.jsonl").read_text().splitlines()
    ]
    assert events == ["raised", "acknowledged", "cleared"]


def test_log_is_replayed_from_disk(tmp_path: Path) -> None:
    path = tmp_path / "alarms.jsonl"
    first = AlarmLog(path)
    a = first.raise_alarm("vapour", "35 ppm")
    first.raise_alarm("estop", "pressed")
    first.acknowledge(a.alarm_id, "bo")
    first.annotate(a.alarm_id, "suspended", run_uid="abc")
    again = AlarmLog(path)
    assert [x.alarm_id for x in again.unacknowledged()] == ["A0002"]
    assert again.get("A0001").acknowledged_by == "bo"
    assert again.get("A0001").context["events"][0]["run_uid"] == "abc"
    assert again.raise_alarm("x", "y").alarm_id == "A0003"


def test_bad_input_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    log = AlarmLog()
    alarm = log.raise_alarm("hood_1", "low flow")
    with pytest.raises(ValueError, match="say who acknowledges"):
        log.acknowledge(alarm.alarm_id, "  ")
    with pytest.raises(KeyError, match=r"no alarm 'A0099'; alarms: \['A0001'\]"):
        log.acknowledge("A0099", "ada")
    log.acknowledge(alarm.alarm_id, "ada")
    with pytest.raises(ValueError, match="acknowledged already by 'ada'"):
        log.acknowledge(alarm.alarm_id, "bo")
    with pytest.raises(ValueError, match="severity must be one of"):
        log.raise_alarm("hood_1", "x", severity="meh")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs a source and a message"):
        log.raise_alarm("", "x")
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n")
    with pytest.raises(ValueError, match="line 1 is not an alarm record"):
        AlarmLog(bad)


def test_raising_from_many_threads_gives_unique_ids(tmp_path: Path) -> None:
    log = AlarmLog(tmp_path / "alarms.jsonl")

    def worker() -> None:
        for _ in range(50):
            log.raise_alarm("t", "m")

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [a.alarm_id for a in log.all()]
    assert len(ids) == len(set(ids)) == 200
    assert len((tmp_path / "alarms.jsonl").read_text().splitlines()) == 200

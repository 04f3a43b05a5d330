from __future__ import annotations

import asyncio
import datetime as dt
import html
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from smartlab_kernel.session import Lab
from smartlab_kernel.widgets.run_browser import RunBrowser, interruption_count


@pytest.fixture(scope="module")
def runs(lab: Lab) -> dict[str, str]:
    bench = lab.bench
    assert bench is not None
    from smartlab_kernel.plans import Recipe, measure_recipe

    kw = dict(
        dispenser=bench.dispenser,
        reactor=bench.reactor,
        robot=bench.robot,
        spectrometer=bench.spectrometer,
    )
    lab.wait(60)
    first = lab.submit(
        measure_recipe(Recipe({"a": 2.0}, temperature_c=50, hold_s=10), **kw),
        campaign_id="browse-1",
        sample_ids=["S-BROWSE"],
    )
    second = lab.submit(
        measure_recipe(Recipe({"b": 2.0}, temperature_c=70, hold_s=10), **kw),
        campaign_id="browse-2",
    )
    uids = {"first": first.wait(60)[0], "second": second.wait(60)[0]}
    lab.wait(60)
    return uids


def test_search_by_each_filter(lab: Lab, runs: dict[str, str]) -> None:
    browser = RunBrowser(lab)
    browser.campaign.value = "browse-1"
    assert browser.search() == [runs["first"]]
    assert "1 run(s) found" in browser.count.value
    assert browser.table.rows[0]["cells"]["campaign"] == "browse-1"
    browser.campaign.value = ""
    browser.sample.value = "S-BROWSE"
    assert browser.search() == [runs["first"]]
    browser.sample.value = ""
    browser.operator.value = lab.operator
    browser.status.value = "success"
    found = browser.search()
    assert runs["first"] in found and runs["second"] in found
    assert found.index(runs["second"]) < found.index(runs["first"]), "newest first"
    browser.status.value = "abort"
    assert runs["first"] not in browser.search()
    browser.status.value = "any"
    browser.operator.value = "nobody"
    assert browser.search() == []
    browser.operator.value = ""
    today = dt.date.today()
    browser.since.value = today + dt.timedelta(days=1)
    assert browser.search() == []
    browser.until.value = today
    assert browser.search() == []
    assert "is after" in html.unescape(browser.message.value)
    browser.since.value = today - dt.timedelta(days=1)
    assert runs["first"] in browser.search()


def test_open_shows_metadata_and_plot(lab: Lab, runs: dict[str, str]) -> None:
    browser = RunBrowser(lab)
    browser.campaign.value = "browse-2"
    browser.search()
    browser.table.value = (runs["second"],)
    assert runs["second"] in browser.details.value
    assert "browse-2" in browser.details.value and "temperature_c" in browser.details.value
    assert browser.plot.value[:4] == b"\x89PNG"


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export_selection(lab: Lab, runs: dict[str, str], tmp_path: Path, fmt: str) -> None:
    browser = RunBrowser(lab)
    browser.search()
    assert browser.export() is None
    assert "select one or more runs" in browser.message.value
    browser.table.value = (runs["first"], runs["second"])
    browser.export_format.value = fmt
    assert browser.path.value.endswith(f".{fmt}")
    browser.path.value = str(tmp_path / f"runs.{fmt}")
    browser.export_button.click()
    read: Callable[[Any], pd.DataFrame] = pd.read_csv if fmt == "csv" else pd.read_parquet
    frame = read(tmp_path / f"runs.{fmt}")
    assert sorted(frame["campaign_id"]) == ["browse-1", "browse-2"]
    assert {"uid", "exit_status", "spectrometer_readout", "recipe_temperature_c"} <= set(frame)
    assert "wrote 2 row(s) from 2 run(s)" in browser.message.value


def test_export_to_a_bad_path_shows_the_error(lab: Lab, runs: dict[str, str]) -> None:
    browser = RunBrowser(lab)
    browser.search()
    browser.table.value = (runs["first"],)
    assert browser.export("/nonexistent-dir/x/runs.csv") is None
    assert "could not write" in browser.message.value


def test_an_interrupted_run_is_flagged(
    idle_lab: Lab,
    runs: dict[str, str],
    slow_plan: Callable[..., Any],
    wait_for: Callable[..., None],
) -> None:
    run = idle_lab.submit(slow_plan(hold_s=3000.0), campaign_id="browse-paused")
    wait_for(slow_plan.holding, what="reactor hold")  # type: ignore[attr-defined]
    idle_lab.pause(reason="checking the stirrer")
    wait_for(lambda: run.state == "paused", what="paused")
    idle_lab.resume()
    (uid,) = run.wait(60)
    idle_lab.wait(60)

    browser = RunBrowser(idle_lab)
    assert uid in browser.search()
    rows = {row["uid"]: row for row in browser.table.rows}
    assert rows[uid]["cells"]["status"] == "success"
    assert rows[uid]["cells"]["interrupted"] == "paused 1x" and rows[uid]["interrupted"] == 1
    assert rows[runs["first"]]["interrupted"] == 0, "runs never held are not flagged"
    assert rows[runs["first"]]["cells"]["interrupted"] == ""
    browser.table.value = (uid,)
    details = html.unescape(browser.details.value)
    assert "interrupted" in details and "1 time(s)" in details
    assert "paused" in details and "checking the stirrer" in details  # the stop reason
    frame = browser.to_dataframe([uid, runs["first"]])
    assert sorted(frame.groupby("uid")["interruptions"].first().items()) == sorted(
        [(uid, 1), (runs["first"], 0)]
    )
    browser.close()


def test_interruption_count_from_a_stop_document() -> None:
    reason = "interrupted 2 times: paused 1.0 s (paused by the operator); suspended 3.0 s (x)"
    assert interruption_count({"reason": reason, "num_events": {"interruptions": 4}}) == 2
    failed = "the stirrer jammed; interrupted 1 time: paused 1.0 s (paused by the operator)"
    assert interruption_count({"reason": failed}) == 1
    # Without the session's summary: pairs of interruption events (pause or suspend, resume);
    # an unpaired last one is the pause an abort ended the run in.
    assert interruption_count({"num_events": {"interruptions": 4, "primary": 1}}) == 2
    assert interruption_count({"reason": "aborted", "num_events": {"interruptions": 1}}) == 0
    assert interruption_count({"num_events": {"primary": 3}}) == 0
    assert interruption_count(None) == interruption_count({}) == 0


class _RecoveringLab:
    """The lab's catalog as seen by a lab that recovers ``recovering`` runs (a fake count)."""

    def __init__(self, lab: Lab, recovering: int) -> None:
        self.catalog = lab.catalog
        self.recovering = recovering
        self.runs: list[Any] = []


def test_a_run_without_stop_is_being_recovered_while_the_lab_recovers(
    idle_lab: Lab,
    runs: dict[str, str],
    slow_plan: Callable[..., Any],
    wait_for: Callable[..., None],
) -> None:
    run = idle_lab.submit(slow_plan(), campaign_id="browse-open")  # a long hold
    wait_for(slow_plan.holding, what="reactor hold")  # type: ignore[attr-defined]
    uid = run.uids[0]
    wait_for(lambda: uid in idle_lab.catalog, what="its start document in the catalog")

    own = RunBrowser(idle_lab)
    own.campaign.value = "browse-open"
    assert own.search() == [uid]
    assert own.table.rows[0]["cells"]["status"] == "running", "the lab's own run is running"
    assert own.recovery.value == ""

    # Runs of a crashed session are usually recovered in a moment: fake the count.
    recovering = _RecoveringLab(idle_lab, recovering=2)
    browser = RunBrowser(recovering)
    note = html.unescape(browser.recovery.value)
    assert "recovering 2 runs of an earlier session into the catalog" in note
    browser.campaign.value = "browse-open"
    assert browser.search() == [uid]
    assert browser.table.rows[0]["cells"]["status"] == "being recovered"
    browser.table.value = (uid,)
    assert "being recovered" in browser.details.value

    idle_lab.abort("browser test: recovery")
    idle_lab.wait(60)
    assert browser.check_recovery() == 2  # unchanged: nothing read again
    assert browser.table.rows[0]["cells"]["status"] == "being recovered"
    recovering.recovering = 0
    assert browser.check_recovery() == 0
    assert browser.recovery.value == ""
    assert browser.table.rows[0]["cells"]["status"] == "abort", "read again when recovery ended"
    assert browser.table.value == (uid,), "the selection is kept"
    own.close()
    browser.close()


@pytest.fixture
def kernel_loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


def test_the_recovery_note_follows_the_count_on_the_kernel_loop(
    lab: Lab, kernel_loop: asyncio.AbstractEventLoop, wait_for: Callable[..., None]
) -> None:
    recovering = _RecoveringLab(lab, recovering=1)
    made: list[RunBrowser] = []
    ready = threading.Event()

    def build() -> None:  # built on the loop thread, as in a notebook cell
        made.append(RunBrowser(recovering, poll_interval=0.05))
        ready.set()

    kernel_loop.call_soon_threadsafe(build)
    assert ready.wait(5)
    browser = made[0]
    assert "recovering 1 run of an earlier session" in html.unescape(browser.recovery.value)
    recovering.recovering = 3
    wait_for(lambda: "recovering 3 runs" in browser.recovery.value, what="3 runs")
    recovering.recovering = 0
    wait_for(lambda: browser.recovery.value == "", what="recovery done")
    kernel_loop.call_soon_threadsafe(browser.close)


def _from_the_browser(widget: Any, content: dict[str, Any]) -> None:
    """Deliver a custom comm message to ``widget`` as its front end sends it."""
    widget._handle_msg(
        {"content": {"data": {"method": "custom", "content": content}}, "buffers": []}
    )


def test_runs_are_a_table_of_plain_values_with_outcomes(lab: Lab, runs: dict[str, str]) -> None:
    browser = RunBrowser(lab)
    browser.sample.value = "S-BROWSE"
    assert browser.search() == [runs["first"]]
    assert [c["key"] for c in browser.table.columns] == [
        "time",
        "plan",
        "campaign",
        "status",
        "outcome",
        "sample",
        "interrupted",
    ]
    assert browser.wait_for_outcomes(60)
    (row,) = browser.table.rows
    cells = row["cells"]
    assert cells["plan"].startswith("measure_recipe #")
    assert (cells["campaign"], cells["status"], cells["sample"]) == (
        "browse-1",
        "success",
        "S-BROWSE",
    )
    run = lab.catalog[runs["first"]]
    expected = float(run["primary"].read()["spectrometer_readout"].values[0])
    assert cells["outcome"] == f"{expected:.4g}"
    assert row["outcome_field"] == "spectrometer_readout"
    assert dt.datetime.strptime(cells["time"], "%Y-%m-%d %H:%M:%S")
    assert not any('"' in text for text in cells.values()), "no JSON quotes"
    browser.table.value = (runs["first"],)
    details = html.unescape(browser.details.value.split("<details>")[0])
    assert "<td>browse-1</td>" in details and "<td>S-BROWSE</td>" in details
    browser.close()


def test_a_click_on_a_column_header_sorts_by_it(lab: Lab, runs: dict[str, str]) -> None:
    browser = RunBrowser(lab)
    browser.operator.value = lab.operator
    found = browser.search()
    assert len(found) >= 2
    assert browser.wait_for_outcomes(60)
    newest_first = [row["uid"] for row in browser.table.rows]
    assert newest_first == found
    _from_the_browser(browser.table, {"type": "sort", "column": "time"})  # sorted on: reversed
    assert [row["uid"] for row in browser.table.rows] == newest_first[::-1]
    assert (browser.table.sort_by, browser.table.descending) == ("time", False)

    _from_the_browser(browser.table, {"type": "sort", "column": "campaign"})
    campaigns = [row["cells"]["campaign"] for row in browser.table.rows]
    assert campaigns == sorted(campaigns, key=lambda c: (c == "-", c.lower()))
    assert (browser.table.sort_by, browser.table.descending) == ("campaign", False)
    _from_the_browser(browser.table, {"type": "sort", "column": "campaign"})
    named = [c for c in (row["cells"]["campaign"] for row in browser.table.rows) if c != "-"]
    assert named == sorted(named, key=str.lower, reverse=True)

    order = browser.sort("outcome")  # largest first; runs without one last
    outcomes = [browser.outcomes.get(uid) for uid in order]
    known = [o for o in outcomes if o is not None]
    assert known == sorted(known, reverse=True) and len(known) >= 2
    assert outcomes[: len(known)] == known
    with pytest.raises(ValueError, match="cannot sort by 'colour': the columns are time, plan"):
        browser.sort("colour")
    browser.close()


def test_several_runs_selected_are_compared_side_by_side_and_overlaid(
    lab: Lab, runs: dict[str, str]
) -> None:
    browser = RunBrowser(lab)
    browser.search()
    browser.table.value = (runs["first"], runs["second"])
    details = html.unescape(browser.details.value)
    assert "2 runs side by side" in details
    assert runs["first"][:8] in details and runs["second"][:8] in details
    assert "browse-1" in details and "browse-2" in details
    assert "Temperature (degC)" in details, "recipe values compared row by row"
    assert browser.plot.layout.display is None and browser.plot.value[:4] == b"\x89PNG"
    (ax,) = browser.figure([runs["first"], runs["second"]]).axes
    legend = ax.get_legend()
    assert legend is not None and len(legend.get_texts()) == 2, "one line per run"
    assert ax.get_title() == "2 runs overlaid"
    browser.table.value = (runs["second"],)
    assert "side by side" not in browser.details.value
    browser.table.value = ()
    assert browser.details.value == "" and browser.plot.layout.display == "none"
    browser.close()

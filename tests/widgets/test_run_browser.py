from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from smartlab_kernel.session import Lab
from smartlab_kernel.widgets.run_browser import RunBrowser


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
    assert "campaign=browse-1" in browser.results.options[0][0]
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
    browser.results.value = (runs["second"],)
    assert runs["second"] in browser.details.value
    assert "browse-2" in browser.details.value and "temperature_c" in browser.details.value
    assert browser.plot.value[:4] == b"\x89PNG"


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export_selection(lab: Lab, runs: dict[str, str], tmp_path: Path, fmt: str) -> None:
    browser = RunBrowser(lab)
    browser.search()
    assert browser.export() is None
    assert "select one or more runs" in browser.message.value
    browser.results.value = (runs["first"], runs["second"])
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
    browser.results.value = (runs["first"],)
    assert browser.export("/nonexistent-dir/x/runs.csv") is None
    assert "could not write" in browser.message.value

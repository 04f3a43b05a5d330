from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from smartlab_kernel.lims import MANIFEST_NAME, LimsStore, read_crate


def _campaign(lims: LimsStore) -> dict[str, str]:
    lims.add_item("stock_A", "25 mL")
    lims.add_item("tips", "10 tip", kind="consumable")
    a = lims.register_sample("stock_solution", sample_id="STOCK-A")
    other = lims.register_sample("mixture", campaign_id="other")
    ids = {"A": a.sample_id, "other": other.sample_id}
    for n in range(3):
        with lims.transaction(operator="ana") as tx:
            s = tx.register_sample(
                "mixture", parents=[a.sample_id], campaign_id="c1", metadata={"n": n}
            )
            tx.consume("stock_A", f"{n + 1} mL", sample_id=s.sample_id)
            tx.consume("tips", "1 tip", sample_id=s.sample_id)
            tx.transition(s.sample_id, "prepared")
        ids[f"S{n}"] = s.sample_id
        lims.record_run(f"run-{n}", [s.sample_id], campaign_id="c1", metadata={"n": n})
    lims.consume("stock_A", "1 mL", run_uid="run-0")
    lims.consume("stock_A", "1 mL", sample_id=other.sample_id)  # not campaign c1
    return ids


def _as_csv_text(frame: pd.DataFrame) -> list[list[str]]:
    return [["" if pd.isna(v) else str(v) for v in row] for row in frame.itertuples(index=False)]


def test_export_round_trip(lims: LimsStore, tmp_path: Path) -> None:
    ids = _campaign(lims)
    decisions = pd.DataFrame(
        {"suggestion_id": ["g1", "g2"], "x": [0.1, 0.7], "accepted": [True, False]}
    )
    environment = pd.DataFrame({"t": ["2025-01-01T00:00:00Z"], "room_temperature_C": [21.5]})
    results = pd.DataFrame({"run_uid": ["run-0", "run-1", "run-2"], "yield": [0.5, 0.6, 0.9]})
    manifest = lims.export_campaign(
        "c1",
        tmp_path / "crate",
        runs=results,
        tables={"planner_decisions": decisions, "environment": environment},
    )
    assert manifest.name == MANIFEST_NAME
    expected = lims.campaign_tables("c1")
    back = read_crate(tmp_path / "crate")
    assert set(back) == set(expected) | {"planner_decisions", "environment", "run_results"}
    for name, frame in expected.items():
        pd.testing.assert_frame_equal(back[name], frame, check_dtype=False)
        csv = pd.read_csv(tmp_path / "crate" / f"{name}.csv", dtype=str, keep_default_na=False)
        assert csv.columns.tolist() == frame.columns.tolist()
        assert csv.to_numpy().tolist() == _as_csv_text(frame)
    pd.testing.assert_frame_equal(back["planner_decisions"], decisions)
    pd.testing.assert_frame_equal(back["environment"], environment)
    pd.testing.assert_frame_equal(back["run_results"], results)

    # ... and the tables say what the store says
    samples = back["samples"].set_index("sample_id")
    campaign = {ids["S0"], ids["S1"], ids["S2"]}
    assert set(samples.index) == campaign | {ids["A"]}
    assert set(samples.index[samples["in_campaign"]]) == campaign
    for sample_id, row in samples.iterrows():
        stored = lims.get_sample(str(sample_id))
        assert row["state"] == stored.state.value
        assert row["sample_type"] == stored.sample_type
        assert json.loads(row["metadata"]) == dict(stored.metadata)
    lineage = {(r.child_id, r.parent_id) for r in back["lineage"].itertuples()}
    assert lineage == {(s, ids["A"]) for s in campaign}
    links = {(r.run_uid, r.sample_id) for r in back["run_samples"].itertuples()}
    assert links == {(r.run_uid, s) for r in lims.runs_of_campaign("c1") for s in r.sample_ids}
    usage = back["inventory_usage"]
    assert usage.groupby("item_name")["amount"].sum().to_dict() == {"stock_A": 7.0, "tips": 3.0}
    audit = back["audit"]
    assert ids["other"] not in " ".join(audit["entity"]) + " ".join(audit["after"])
    by_seq = {e.seq: e for e in lims.audit_entries()}
    for row in audit.itertuples():
        entry = by_seq[row.seq]
        assert (row.hash, row.prev_hash, row.action) == (entry.hash, entry.prev_hash, entry.action)
        assert json.loads(row.after) == entry.after


def test_manifest_is_ro_crate_1_1(lims: LimsStore, tmp_path: Path) -> None:
    _campaign(lims)
    manifest = json.loads(lims.export_campaign("c1", tmp_path).read_text())
    assert manifest["@context"] == "https://w3id.org/ro/crate/1.1/context"
    graph = {e["@id"]: e for e in manifest["@graph"]}
    descriptor = graph[MANIFEST_NAME]
    assert descriptor["conformsTo"] == {"@id": "https://w3id.org/ro/crate/1.1"}
    assert descriptor["about"] == {"@id": "./"}
    root = graph["./"]
    assert root["@type"] == "Dataset"
    parts = [p["@id"] for p in root["hasPart"]]
    assert "samples.csv" in parts and "audit.parquet" in parts
    for part in parts:
        entity = graph[part]
        assert entity["@type"] == "File"
        assert entity["encodingFormat"] in ("text/csv", "application/vnd.apache.parquet")
        assert int(entity["contentSize"]) == (tmp_path / part).stat().st_size


def test_extra_tables_must_not_clash(lims: LimsStore, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="clash"):
        lims.export_campaign("c1", tmp_path, tables={"samples": pd.DataFrame()})
    with pytest.raises(ValueError, match="table name"):
        lims.export_campaign("c1", tmp_path, tables={"../evil": pd.DataFrame()})


def test_empty_campaign_exports_empty_tables(lims: LimsStore, tmp_path: Path) -> None:
    lims.export_campaign("nothing", tmp_path)
    back = read_crate(tmp_path)
    assert all(frame.empty for frame in back.values())
    assert back["samples"].columns.tolist()[0] == "sample_id"

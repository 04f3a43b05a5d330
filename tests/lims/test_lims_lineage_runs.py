from __future__ import annotations

import pytest

from smartlab_kernel.lims import DuplicateError, LimsStore, UnknownSampleError


def _family(lims: LimsStore) -> dict[str, str]:
    """A -> M1 <- B, M1 -> D1, (M1, C) -> D2, D2 -> E."""
    ids: dict[str, str] = {}
    for name in ("A", "B", "C"):
        ids[name] = lims.register_sample("stock_solution").sample_id
    ids["M1"] = lims.register_sample("mixture", parents=[ids["A"], ids["B"]]).sample_id
    ids["D1"] = lims.register_sample("dilution", parents=[ids["M1"]]).sample_id
    ids["D2"] = lims.register_sample("dilution", parents=[ids["M1"], ids["C"]]).sample_id
    ids["E"] = lims.register_sample("aliquot", parents=[ids["D2"]], campaign_id="c1").sample_id
    return ids


def test_lineage_ancestors_and_descendants(lims: LimsStore) -> None:
    ids = _family(lims)
    name = {v: k for k, v in ids.items()}
    lineage = lims.lineage(ids["E"])
    assert [name[i] for i in lineage.ancestors] == ["D2", "M1", "C", "A", "B"]
    assert lineage.descendants == []
    assert lineage.parents[ids["M1"]] == (ids["A"], ids["B"])
    assert lineage.ancestor_tree().splitlines() == [
        ids["E"],
        "  " + ids["D2"],
        "    " + ids["M1"],
        "      " + ids["A"],
        "      " + ids["B"],
        "    " + ids["C"],
    ]
    down = lims.lineage(ids["A"])
    assert down.ancestors == []
    assert [name[i] for i in down.descendants] == sorted(["M1"]) + sorted(
        ["D1", "D2"], key=lambda n: ids[n]
    ) + ["E"]
    middle = lims.lineage(ids["M1"])
    assert {name[i] for i in middle.ancestors} == {"A", "B"}
    assert {name[i] for i in middle.descendants} == {"D1", "D2", "E"}
    with pytest.raises(UnknownSampleError):
        lims.lineage("S-22222")


def test_runs_link_samples_and_campaigns(lims: LimsStore) -> None:
    ids = _family(lims)
    lims.record_run("run-1", [ids["M1"], ids["D1"]], campaign_id="c1", metadata={"plan": "x"})
    lims.record_run("run-2", [ids["D1"]], campaign_id="c2")
    lims.record_run("run-3", [], campaign_id="c1")
    runs = lims.runs_of_sample(ids["D1"])
    assert [r.run_uid for r in runs] == ["run-1", "run-2"]
    assert runs[0].sample_ids == (ids["M1"], ids["D1"])
    assert runs[0].metadata == {"plan": "x"}
    assert runs[0].recorded_by == "tester"
    assert lims.runs_of_sample(ids["A"]) == []
    assert [r.run_uid for r in lims.runs_of_campaign("c1")] == ["run-1", "run-3"]
    assert {s.sample_id for s in lims.samples_of_campaign("c1")} == {ids["M1"], ids["D1"], ids["E"]}
    assert [s.sample_id for s in lims.samples_of_campaign("c2")] == [ids["D1"]]
    assert lims.samples_of_campaign("nope") == []
    with pytest.raises(DuplicateError, match="run-1"):
        lims.record_run("run-1", [ids["A"]])
    with pytest.raises(UnknownSampleError):
        lims.record_run("run-4", ["S-22222"])
    assert [r.run_uid for r in lims.runs_of_campaign("c1")] == ["run-1", "run-3"]

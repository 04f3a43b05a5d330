"""A bundle's manifest: every file's sha256, checked whenever the bundle is opened."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from smartlab_kernel.publish import BundleError, BundleTamperedError, verify_bundle
from smartlab_kernel.publish.manifest import sha256_of, write_manifest


def _bundle(root: Path) -> Path:
    (root / "runs" / "r1").mkdir(parents=True)
    (root / "runs" / "r1" / "documents.jsonl").write_text('["start", {}]\n')
    (root / "notebook.ipynb").write_text("{}")
    write_manifest(root, {"title": "t"})
    return root


def test_the_manifest_lists_every_file_with_its_sha256(tmp_path: Path) -> None:
    root = _bundle(tmp_path)
    manifest = verify_bundle(root)
    assert manifest["files"] == {
        "notebook.ipynb": sha256_of(root / "notebook.ipynb"),
        "runs/r1/documents.jsonl": sha256_of(root / "runs/r1/documents.jsonl"),
    }
    assert manifest["title"] == "t"


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (lambda r: (r / "notebook.ipynb").write_text("{ }"), "notebook.ipynb was changed"),
        (lambda r: (r / "runs/r1/documents.jsonl").unlink(), "documents.jsonl is in the manifest"),
        (lambda r: (r / "runs/r2.csv").write_text("x"), "runs/r2.csv is not in the manifest"),
    ],
)
def test_a_changed_missing_or_added_file_is_refused_by_name(
    tmp_path: Path, change: object, said: str
) -> None:
    root = _bundle(tmp_path)
    change(root)  # type: ignore[operator]
    with pytest.raises(BundleTamperedError, match=said):
        verify_bundle(root)


def test_a_folder_that_is_not_a_bundle_says_so(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match=r"has no manifest\.json"):
        verify_bundle(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"format": "smartlab-bundle", "version": 9}))
    with pytest.raises(BundleError, match="version 9"):
        verify_bundle(tmp_path)

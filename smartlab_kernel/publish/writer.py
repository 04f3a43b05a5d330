"""``publish``: write one bundle with a notebook, every run it used, and how to check them.

A bundle is a folder of open formats::

    manifest.json         what it holds, and the sha256 of every other file
    ro-crate-metadata.json  the bundle as an RO-Crate 1.1 Dataset (each file's format, size)
    notebook.ipynb        the notebook as executed (its outputs are what a replay must show)
    figures.json          the data of the notebook's figures (when publish executed it)
    lab.json              the lab configuration: bench settings, seed, operator, devices
    versions.json         the package versions that made the data
    runs/<uid>/documents.jsonl        the run's Bluesky documents, as emitted
    runs/<uid>/<stream>.parquet|.csv  each stream as a table
    planner/<campaign id>.json        each campaign's planner configuration and records
    lims/<campaign id>/               the LIMS export of each campaign's samples, stock use
                                      and audit entries (RO-Crate: CSV + Parquet), if the
                                      lab kept a LIMS (``lims.sqlite`` in its directory)

See ``docs/how-to/publish-a-notebook.md``.
"""

from __future__ import annotations

import datetime
import json
import platform
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .._version import __version__
from .crate import write_bundle_crate
from .documents import (
    DOCUMENTS_NAME,
    Document,
    journal_documents,
    jsonable,
    stream_tables,
    write_documents,
    write_tables,
)
from .errors import BundleError
from .manifest import MANIFEST_NAME, write_manifest
from .notebook_run import execute_notebook, lab_directory_of

NOTEBOOK_NAME = "notebook.ipynb"
FIGURES_NAME = "figures.json"
LAB_NAME = "lab.json"
VERSIONS_NAME = "versions.json"


def publish(
    notebook: str | Path,
    output: str | Path,
    *,
    directory: str | Path | None = None,
    campaign: str | None = None,
    query: Mapping[str, Any] | None = None,
    execute: bool = False,
    title: str | None = None,
    timeout: float = 600.0,
    startup_timeout: float = 300.0,
) -> Path:
    """Write a bundle of ``notebook`` and the runs it used into ``output``.

    Args:
        notebook: The notebook (``.ipynb``), executed unless ``execute`` is set.
        output: The bundle's folder (must not exist, or be empty).
        directory: The lab directory holding the runs. Default: the one the
            notebook's first ``%lab open DIRECTORY`` names, relative to the notebook.
        campaign: Bundle only this campaign's runs (experiments and planner records).
        query: Bundle only runs whose start document has these values
            (``{"start.plan_name": "measure_recipe"}``; keys as in a tiled ``Key`` query).
            Default with neither: every run of the lab directory.
        execute: Run every cell first (on the notebook's kernel, in its folder),
            and keep the data of its figures (``figures.json``).
        title: A title for the bundle (default: the notebook's first heading).
        timeout: Seconds each cell may take when ``execute`` is set.
        startup_timeout: Seconds the kernel may take to start when ``execute`` is set.

    Returns:
        The bundle's folder.

    Raises:
        BundleError: If the notebook has no outputs (not executed), the lab
            directory has no catalog, the selection has no runs, a run is not
            fully in the journal, or ``output`` is a non-empty folder.
        FileNotFoundError: If ``notebook`` does not exist.
    """
    source = Path(notebook).resolve()
    if not source.is_file():
        raise FileNotFoundError(f"notebook {source} does not exist")
    root = Path(output).resolve()
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise BundleError(f"bundle folder {root} exists and is not empty; choose a new folder")
    figures: list[Any] | None = None
    if execute:
        executed, figures = execute_notebook(
            source, cwd=source.parent, timeout=timeout, startup_timeout=startup_timeout
        )
        text = json.dumps(executed, indent=1, ensure_ascii=False) + "\n"
    else:
        text = source.read_text()
    cells = json.loads(text)["cells"]
    if not any(cell.get("outputs") for cell in cells if cell.get("cell_type") == "code"):
        raise BundleError(
            f"{source} has no outputs: publish the notebook as executed (Run All, then save), "
            "or pass execute=True (--execute)"
        )
    lab_dir = Path(directory).resolve() if directory else lab_directory_of(cells, source.parent)
    starts = _selected_starts(lab_dir, campaign, query)
    root.mkdir(parents=True, exist_ok=True)
    try:
        (root / NOTEBOOK_NAME).write_text(text)
        if figures is not None:
            (root / FIGURES_NAME).write_text(json.dumps(figures, indent=1) + "\n")
        campaigns = _write_runs(root, lab_dir, starts)
        _write_lims(root, lab_dir, campaigns)
        _write_json(root / LAB_NAME, _lab_configuration(starts, lab_dir, source.parent))
        _write_json(root / VERSIONS_NAME, _versions(starts))
        heading = title or _first_heading(cells) or source.stem
        write_bundle_crate(
            root,
            heading,
            f"The notebook {source.name} as executed, with the {len(starts)} runs it used "
            "(Bluesky documents as JSON lines, streams as Parquet and CSV), its planners' "
            "histories and the lab's configuration (smartlab publish).",
        )
        write_manifest(
            root,
            {
                "title": heading,
                "notebook": NOTEBOOK_NAME,
                "notebook_source": source.name,
                "figures": FIGURES_NAME if figures is not None else None,
                "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                "smartlab_kernel": __version__,
                "runs": [str(start["uid"]) for start in starts],
                "campaigns": campaigns,
                "selection": {"campaign": campaign, "query": dict(query or {})},
            },
        )
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return root


def _selected_starts(
    lab_dir: Path, campaign: str | None, query: Mapping[str, Any] | None
) -> list[dict[str, Any]]:
    """Start documents of the runs to bundle, oldest first (read from the lab's catalog)."""
    from tiled.queries import Key

    from ..session import Lab

    if not (lab_dir / "catalog").is_dir():
        raise BundleError(f"{lab_dir} is not a lab directory: it has no catalog")
    with Lab(devices={}, directory=lab_dir, read_only=True) as archive:
        found = archive.catalog
        if campaign is not None:
            found = found.search(Key("start.campaign_id") == str(campaign))
        for key, value in (query or {}).items():
            found = found.search(Key(key if "." in key else f"start.{key}") == value)
        starts = [dict(found[uid].metadata["start"]) for uid in found]
    if not starts:
        chosen = f"campaign {campaign!r}" if campaign else f"query {dict(query or {})}"
        raise BundleError(f"no runs of {chosen} in the catalog of {lab_dir}")
    return sorted(starts, key=lambda start: float(start["time"]))


def _write_runs(root: Path, lab_dir: Path, starts: Sequence[dict[str, Any]]) -> list[str]:
    """Write each run's documents and tables, and each campaign's planner; return campaign ids."""
    from ..campaign.stored_runs import campaign_records

    campaigns: dict[str, list[_StoredRun]] = {}
    for start in starts:
        uid = str(start["uid"])
        documents = journal_documents(lab_dir, uid)
        folder = root / "runs" / uid
        folder.mkdir(parents=True)
        write_documents(folder / DOCUMENTS_NAME, documents)
        write_tables(folder, stream_tables(documents))
        if start.get("campaign_id"):
            run = _StoredRun(start, documents)
            campaigns.setdefault(str(start["campaign_id"]), []).append(run)
    (root / "planner").mkdir()
    for campaign_id, runs in campaigns.items():
        try:
            history = campaign_records(runs)
        except LookupError:
            continue  # runs with a campaign id but no planner (e.g. a hand-made scan)
        _write_json(
            root / "planner" / f"{campaign_id}.json",
            {"config": history.config, "records": history.records, "recovered": history.recovered},
        )
    return list(campaigns)


class _StoredRun:
    """A run as :func:`campaign_records` reads it (``metadata`` and ``["primary"].read()``)."""

    def __init__(self, start: dict[str, Any], documents: list[Document]) -> None:
        self._documents = documents
        stop = next(doc for name, doc in self._documents if name == "stop")
        self.metadata = {"start": start, "stop": stop}

    def __getitem__(self, stream: str) -> Any:
        table = stream_tables(self._documents).get(stream)
        if table is None:
            raise KeyError(f"run {self.metadata['start']['uid']} has no stream {stream!r}")
        return _Table(table)


class _Table:
    def __init__(self, table: Any) -> None:
        self._table = table

    def read(self) -> Any:
        return self._table


def _write_lims(root: Path, lab_dir: Path, campaigns: Sequence[str]) -> None:
    """Export each campaign from the lab's LIMS (if it kept one) as an RO-Crate."""
    database = lab_dir / "lims.sqlite"
    if not database.is_file() or not campaigns:
        return
    from ..lims import LimsStore

    with LimsStore.open(database, upgrade=False, head_file=False) as store:
        for campaign_id in campaigns:
            store.export_campaign(campaign_id, root / "lims" / campaign_id)


def _lab_configuration(
    starts: Sequence[dict[str, Any]], lab_dir: Path, notebook_dir: Path
) -> dict[str, Any]:
    """What the lab was: the first run's bench, seed, operator and device configuration."""
    first = starts[0]
    try:
        where = lab_dir.relative_to(notebook_dir).as_posix()
    except ValueError:
        where = lab_dir.name
    return jsonable(
        {
            "lab_directory": where,
            "seed": first.get("seed"),
            "operator": first.get("operator"),
            "bench": first.get("bench"),
            "devices": first.get("devices"),
            "sessions": sorted({str(s.get("lab_session")) for s in starts if s.get("lab_session")}),
        }
    )


def _versions(starts: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The versions recorded with the runs, and those of the publishing Python."""
    from ..session.context import package_versions

    return {
        "python": platform.python_version(),
        "publisher": {"smartlab-kernel": __version__, **package_versions()},
        "recorded": starts[0].get("versions", {}),
    }


def _first_heading(cells: Sequence[Mapping[str, Any]]) -> str | None:
    for cell in cells:
        if cell.get("cell_type") != "markdown":
            continue
        for line in "".join(cell.get("source", "")).splitlines():
            if line.startswith("#"):
                return line.lstrip("#").strip()
    return None


def _write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(jsonable(value), indent=1, sort_keys=True) + "\n")


__all__ = [
    "FIGURES_NAME",
    "LAB_NAME",
    "MANIFEST_NAME",
    "NOTEBOOK_NAME",
    "VERSIONS_NAME",
    "publish",
]

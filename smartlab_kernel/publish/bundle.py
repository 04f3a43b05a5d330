"""Reading a published bundle: checked against its manifest before anything is used."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .documents import DOCUMENTS_NAME, Document, read_documents
from .errors import BundleError
from .manifest import verify_bundle


@dataclass(frozen=True)
class RecordedRun:
    """One run of a bundle: its start and stop documents.

    Attributes:
        start: The start document.
        stop: The stop document.
    """

    start: dict[str, Any]
    stop: dict[str, Any]

    @property
    def uid(self) -> str:
        """The run's uid."""
        return str(self.start["uid"])

    @property
    def plan_name(self) -> str:
        """The plan that made it (``""`` if the start document does not say)."""
        return str(self.start.get("plan_name", ""))


class Bundle:
    """A published bundle, its every file checked against the manifest on opening.

    Args:
        path: The bundle's folder.

    Raises:
        BundleError: If ``path`` is not a bundle.
        BundleTamperedError: If a file differs from the manifest, naming it.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).resolve()
        self.manifest = verify_bundle(self.path)
        self.runs = [self._recorded(str(uid)) for uid in self.manifest.get("runs", [])]

    def _recorded(self, uid: str) -> RecordedRun:
        documents = self.documents(uid)
        starts = [doc for name, doc in documents if name == "start"]
        stops = [doc for name, doc in documents if name == "stop"]
        if len(starts) != 1 or len(stops) != 1:
            raise BundleError(
                f"bundle {self.path}: run {uid} has {len(starts)} start and {len(stops)} stop "
                "documents; one of each was expected"
            )
        return RecordedRun(starts[0], stops[0])

    def documents(self, uid: str) -> list[Document]:
        """The documents of run ``uid``, in the order they were emitted.

        Raises:
            BundleError: If the bundle has no such run.
        """
        path = self.path / "runs" / uid / DOCUMENTS_NAME
        if not path.is_file():
            raise BundleError(f"bundle {self.path} has no run {uid}")
        return read_documents(path)

    @property
    def campaigns(self) -> list[str]:
        """The campaign ids of the bundle, in the order the notebook first used them."""
        return [str(c) for c in self.manifest.get("campaigns", [])]

    @property
    def notebook(self) -> Path:
        """The notebook as published (executed)."""
        return self.path / str(self.manifest.get("notebook", "notebook.ipynb"))

    @property
    def figures(self) -> list[Any] | None:
        """The data of the published notebook's figures, if publish recorded it."""
        name = self.manifest.get("figures")
        if not name:
            return None
        return list(json.loads((self.path / str(name)).read_text()))

    def read_json(self, name: str) -> Any:
        """A JSON file of the bundle (``lab.json``, ``versions.json``, ``planner/<id>.json``).

        Raises:
            BundleError: If the bundle has no such file.
        """
        path = self.path / name
        if not path.is_file():
            raise BundleError(f"bundle {self.path} has no {name}")
        return json.loads(path.read_text())

    @property
    def lab(self) -> dict[str, Any]:
        """The lab configuration (``lab.json``): bench settings, seed, operator, devices."""
        return dict(self.read_json("lab.json"))

    def __repr__(self) -> str:
        return f"<Bundle {self.path.name}: {len(self.runs)} runs, campaigns {self.campaigns}>"


__all__ = ["Bundle", "RecordedRun"]

"""Published notebooks a reader re-executes without the lab.

``publish`` writes a bundle (the executed notebook, its runs as JSON
documents and Parquet/CSV tables, the planners' histories, the lab
configuration, package versions, and a manifest with the sha256 of every
file); ``Lab.from_bundle`` opens a read-only lab on it, whose ``submit``
returns the recorded runs; ``smartlab replay`` re-executes the notebook on
it and compares the outputs with the published ones. See
``docs/how-to/publish-a-notebook.md``.

The lab core knows nothing of bundles: importing this package registers
the ``"bundle"`` factory that :meth:`Lab.from_bundle` asks for.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..session.attachments import register_attachment
from .errors import BundleError, BundleTamperedError, NotRecordedError
from .manifest import MANIFEST_NAME, verify_bundle

#: The environment variable that makes the Smart Lab kernel replay a bundle:
#: its lab, and every ``%lab open``, is the bundle's read-only lab.
REPLAY_ENV = "SMARTLAB_REPLAY_BUNDLE"


def _open_bundle(path: str | Path) -> Any:
    from .bundle_lab import BundleLab

    return BundleLab(path)


register_attachment("bundle", _open_bundle)

__all__ = [
    "MANIFEST_NAME",
    "REPLAY_ENV",
    "BundleError",
    "BundleTamperedError",
    "NotRecordedError",
    "verify_bundle",
]

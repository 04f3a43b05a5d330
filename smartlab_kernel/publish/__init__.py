"""Published notebooks a reader re-executes without the lab.

:func:`publish` writes a bundle (the executed notebook, its runs as JSON
documents and Parquet/CSV tables, the planners' histories, the lab
configuration, package versions, and a manifest with the sha256 of every
file); :class:`BundleLab` (``Lab.from_bundle``) is a read-only lab on it,
whose ``submit`` returns the recorded runs; ``smartlab replay`` re-executes
the notebook on it and compares the outputs with the published ones. See
``docs/how-to/publish-a-notebook.md``.

The lab core knows nothing of bundles: importing this package registers
the ``"bundle"`` factory that :meth:`Lab.from_bundle` asks for.
"""

from __future__ import annotations

from ..session.attachments import register_attachment
from .bundle import Bundle, RecordedRun
from .bundle_lab import BundleLab, open_bundle
from .compare import output_differences
from .errors import BundleError, BundleTamperedError, KernelStartError, NotRecordedError
from .manifest import MANIFEST_NAME, verify_bundle
from .notebook_run import execute_notebook
from .recorded_plans import RecordedRunFailed, Recording
from .writer import publish

#: The environment variable that makes the Smart Lab kernel replay a bundle:
#: its lab, and every ``%lab open``, is the bundle's read-only lab.
REPLAY_ENV = "SMARTLAB_REPLAY_BUNDLE"

register_attachment("bundle", open_bundle)

__all__ = [
    "MANIFEST_NAME",
    "REPLAY_ENV",
    "Bundle",
    "BundleError",
    "BundleLab",
    "BundleTamperedError",
    "KernelStartError",
    "NotRecordedError",
    "RecordedRun",
    "RecordedRunFailed",
    "Recording",
    "execute_notebook",
    "output_differences",
    "publish",
    "verify_bundle",
]

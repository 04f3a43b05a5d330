"""A bundle's manifest: the sha256 of every file, and the check that they still match."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from .errors import BundleError, BundleTamperedError

#: The manifest's file name, at the top of a bundle.
MANIFEST_NAME = "manifest.json"
#: What a bundle's manifest says it is.
BUNDLE_FORMAT = "smartlab-bundle"
#: The bundle layout version this code writes and reads.
BUNDLE_VERSION = 1


def sha256_of(path: Path) -> str:
    """The sha256 of a file's bytes, as hex."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def bundle_files(root: Path) -> list[str]:
    """Every file under ``root`` but the manifest, as sorted POSIX paths relative to it."""
    return sorted(
        path.relative_to(root).as_posix()
        for path in root.rglob("*")
        if path.is_file() and path.relative_to(root).as_posix() != MANIFEST_NAME
    )


def write_manifest(root: Path, about: dict[str, Any]) -> Path:
    """Write ``manifest.json``: ``about`` and the sha256 of every other file of the bundle.

    Args:
        root: The bundle's folder, with every file written.
        about: What the bundle holds (notebook, campaigns, runs, ...), kept as given.

    Returns:
        The manifest's path.
    """
    files = {name: sha256_of(root / name) for name in bundle_files(root)}
    manifest = {"format": BUNDLE_FORMAT, "version": BUNDLE_VERSION, **about, "files": files}
    path = root / MANIFEST_NAME
    path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return path


def read_manifest(root: Path) -> dict[str, Any]:
    """The manifest of the bundle in ``root``, unchecked (see :func:`verify_bundle`).

    Raises:
        BundleError: If ``root`` has no readable manifest of a bundle of this version.
    """
    path = root / MANIFEST_NAME
    if not path.is_file():
        raise BundleError(f"{root} is not a bundle: it has no {MANIFEST_NAME}")
    try:
        manifest = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleTamperedError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"{path} is not the manifest of a {BUNDLE_FORMAT} (format missing)")
    if manifest.get("version") != BUNDLE_VERSION:
        raise BundleError(
            f"{path} is a bundle of version {manifest.get('version')!r}; "
            f"this smartlab_kernel reads version {BUNDLE_VERSION}"
        )
    if not isinstance(manifest.get("files"), dict):
        raise BundleTamperedError(f"{path} lists no files")
    return manifest


def verify_bundle(root: str | Path) -> dict[str, Any]:
    """Check every file of a bundle against its manifest; return the manifest.

    Raises:
        BundleError: If ``root`` is not a bundle.
        BundleTamperedError: Naming the first file whose sha256 differs from the
            manifest's, or that is missing, or that the manifest does not list.
    """
    folder = Path(root)
    manifest = read_manifest(folder)
    listed: dict[str, str] = manifest["files"]
    for name, expected in sorted(listed.items()):
        path = folder / name
        if not path.is_file():
            raise BundleTamperedError(f"bundle {folder}: {name} is in the manifest but missing")
        found = sha256_of(path)
        if found != expected:
            raise BundleTamperedError(
                f"bundle {folder}: {name} was changed after publishing "
                f"(sha256 {found}, the manifest says {expected}); refusing to open it"
            )
    extra = sorted(set(bundle_files(folder)) - set(listed))
    if extra:
        raise BundleTamperedError(
            f"bundle {folder}: {extra[0]} is not in the manifest (added after publishing); "
            f"files not listed: {extra}"
        )
    return manifest


__all__ = [
    "BUNDLE_FORMAT",
    "BUNDLE_VERSION",
    "MANIFEST_NAME",
    "bundle_files",
    "read_manifest",
    "sha256_of",
    "verify_bundle",
    "write_manifest",
]

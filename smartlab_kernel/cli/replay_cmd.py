"""``smartlab replay``: re-execute a published notebook on its bundle, without the lab."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from .argtypes import positive_float


def register(subparsers: Any) -> None:
    """Add the ``replay`` subcommand."""
    parser = subparsers.add_parser(
        "replay",
        help="open a published notebook on its bundle (read-only lab of the recorded runs)",
        description=(
            "Check the bundle against its manifest, then open its notebook on the Smart Lab "
            "kernel with the bundle as its lab: `%%lab open` opens the bundle read-only, a "
            "recorded plan returns its recorded runs, and one that was not recorded is "
            "refused. With --execute, run every cell headless and compare the outputs with "
            "the published ones (exit 0 when they are the same); else start JupyterLab on "
            "a copy of the notebook."
        ),
    )
    parser.add_argument("bundle", help="the bundle folder (from `smartlab publish`)")
    parser.add_argument(
        "--execute", action="store_true", help="run all cells headless and compare the outputs"
    )
    parser.add_argument(
        "--output",
        default=None,
        help="where to write the replayed notebook (--execute; default: ./<name>-replayed.ipynb)",
    )
    parser.add_argument(
        "--into",
        default=None,
        help="folder for the notebook copy JupyterLab opens (default: ./replay-<bundle name>)",
    )
    parser.add_argument("--timeout", type=positive_float, default=600.0, help="seconds per cell")
    parser.add_argument(
        "--startup-timeout",
        type=positive_float,
        default=300.0,
        help="seconds the kernel may take to start (--execute)",
    )
    parser.add_argument("--port", type=int, default=8888, help="JupyterLab's port")
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser")
    parser.set_defaults(func=run_replay)


def run_replay(args: argparse.Namespace) -> int:
    """Replay; the exit code says how it went.

    0 when the outputs match (or JupyterLab started), 1 if they differ, 2 on a bad
    bundle, 3 if the kernel did not start.
    """
    from ..publish import REPLAY_ENV, BundleError
    from ..publish.bundle import Bundle

    try:
        bundle = Bundle(args.bundle)
    except BundleError as exc:
        print(f"smartlab replay: {exc}", file=sys.stderr)
        return 2
    _note_versions(bundle)
    os.environ[REPLAY_ENV] = str(bundle.path)
    _ensure_kernelspec()
    if args.execute:
        return _execute(bundle, args)
    return _open_in_jupyterlab(bundle, args)


def _note_versions(bundle: Any) -> None:
    """Say (on stderr) which packages differ from the versions the runs were recorded with."""
    from ..session.context import package_versions

    recorded = dict(bundle.read_json("versions.json").get("recorded") or {})
    here = package_versions()
    differ = [
        f"{name} {v} (here {here.get(name, 'none')})"
        for name, v in sorted(recorded.items())
        if here.get(name) != v
    ]
    if differ:
        print(
            "note: recorded with other package versions than this Python's: "
            + ", ".join(differ)
            + "; a planner's suggestions may then differ, and a replay refuses them by name",
            file=sys.stderr,
        )


def _ensure_kernelspec() -> None:
    """Install the Smart Lab kernelspec into this environment if Jupyter finds none."""
    from jupyter_client.kernelspec import KernelSpecManager

    from ..kernel import KERNEL_NAME, install_kernelspec

    if KERNEL_NAME not in KernelSpecManager().find_kernel_specs():
        install_kernelspec(prefix=sys.prefix)


def _execute(bundle: Any, args: argparse.Namespace) -> int:
    from ..publish import KernelStartError
    from ..publish.compare import output_differences
    from ..publish.notebook_run import execute_notebook

    published = json.loads(bundle.notebook.read_text())
    try:
        replayed, figures = execute_notebook(
            bundle.notebook,
            cwd=Path.cwd(),
            timeout=args.timeout,
            startup_timeout=args.startup_timeout,
        )
    except KernelStartError as exc:
        print(f"smartlab replay: {exc}", file=sys.stderr)
        return 3
    replayed.setdefault("metadata", {})["smartlab"] = {
        "replay_of": str(bundle.path),
        "figures": figures,
    }
    name = str(bundle.manifest.get("notebook_source") or "notebook.ipynb")
    output = Path(args.output or f"{Path(name).stem}-replayed.ipynb")
    output.write_text(json.dumps(replayed, indent=1, ensure_ascii=False) + "\n")
    found = output_differences(published, replayed, bundle.figures, figures)
    for line in found:
        print(line)
    cells = sum(cell.get("cell_type") == "code" for cell in published["cells"])
    if found:
        print(f"DIFFERENT: {len(found)} differences; the replayed notebook is in {output}")
        return 1
    figured = "" if bundle.figures is None else f" and {len(figures)} figures' data"
    print(f"SAME: {cells} code cells replayed with the published outputs{figured}; in {output}")
    return 0


def _open_in_jupyterlab(bundle: Any, args: argparse.Namespace) -> int:
    from .lab_cmd import jupyter_arguments

    folder = Path(args.into or f"replay-{bundle.path.name}").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    name = str(bundle.manifest.get("notebook_source") or "notebook.ipynb")
    copy = folder / name
    if not copy.exists():
        shutil.copyfile(bundle.notebook, copy)
    print(f"replaying {bundle.path} in JupyterLab: {copy} (its lab is the bundle, read-only)")
    lab_args = argparse.Namespace(
        ip="127.0.0.1",
        port=args.port,
        token=None,
        notebook_dir=str(folder),
        no_browser=args.no_browser,
    )
    argv = jupyter_arguments(lab_args)
    os.execv(argv[0], argv)
    return 0  # pragma: no cover

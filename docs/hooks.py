"""mkdocs hooks.

* Fill ``<!-- smartlab-help -->`` with the real ``--help`` of every subcommand.
* Render the tutorials with their outputs: ``tests/notebooks`` writes each
  notebook it executed to ``build/executed/tutorials/notebooks/`` (the tail
  of the path is what the mkdocs-jupyter include pattern matches); when that copy is
  newer than the notebook, the site shows it instead of the stored notebook
  (which is kept without outputs in git).
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

EXECUTED = Path(__file__).resolve().parents[1] / "build" / "executed" / "tutorials" / "notebooks"

MARKER = "<!-- smartlab-help -->"


def _help(argv: list[str]) -> str:
    from smartlab_kernel.cli.main import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        main([*argv, "--help"])
    return out.getvalue()


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    """Replace the marker with the help text of ``smartlab`` and each subcommand."""
    if MARKER not in markdown:
        return markdown
    from smartlab_kernel.cli.main import build_parser

    parser = build_parser()
    commands = [[]] + [
        [name]
        for name in parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    ]
    commands += [["kernel", "install"], ["audit", "verify"]]
    sections = []
    for argv in commands:
        title = " ".join(["smartlab", *argv])
        sections.append(f"## `{title}`\n\n```text\n{_help(argv)}```\n")
    return markdown.replace(MARKER, "\n".join(sections))


def on_files(files: Any, config: Any, **kwargs: Any) -> Any:
    """Point each tutorial notebook at its executed copy when that is up to date."""
    for file in files:
        if not (
            file.src_uri.startswith("tutorials/notebooks/") and file.src_uri.endswith(".ipynb")
        ):
            continue
        executed = EXECUTED / Path(file.src_uri).name
        source = Path(file.abs_src_path)
        if executed.is_file() and executed.stat().st_mtime >= source.stat().st_mtime:
            file.abs_src_path = str(executed)
    return files

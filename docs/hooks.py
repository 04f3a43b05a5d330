"""mkdocs hook: fill ``<!-- smartlab-help -->`` with the real ``--help`` of every subcommand."""

from __future__ import annotations

import contextlib
import io
from typing import Any

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

"""Compare a replayed notebook's outputs with the published ones.

Compared exactly: every stream's text, every error, and every mimetype of
every displayed result (``text/plain``, ``text/html``, JSON, ...), in order,
cell by cell. Normalised, and only this:

- execution counts are not compared (a notebook published from JupyterLab
  may have run a cell twice), and consecutive outputs of one stream are
  joined (how the kernel cuts printed text into messages depends on timing);
- the line ``%lab open`` prints (``lab: ...``) says, on a replay, that the lab
  is the bundle's (:meth:`~smartlab_kernel.publish.bundle_lab.BundleLab.describe`),
  so it is left out on both sides;
- a widget's view is compared by its mimetypes only: its model id is made at
  random by each kernel, and its ``text/plain`` is its state, ids included;
- images are compared by the data of the notebook's figures (see
  :func:`~smartlab_kernel.publish.notebook_run.execute_notebook`), not by their
  pixels, which depend on the fonts and renderer of the machine.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

WIDGET = "application/vnd.jupyter.widget-view+json"
_LAB_OPEN_LINE = re.compile(r"^lab: .*\n?", re.MULTILINE)


def seen(notebook: Mapping[str, Any]) -> list[list[Any]]:
    """What each code cell showed, normalised as the module docstring says."""
    cells = []
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        source = "".join(cell.get("source", ""))
        opens_lab = "%lab open" in source
        shown: list[Any] = []
        for output in _coalesced(cell.get("outputs", [])):
            kind = output.get("output_type")
            if kind == "stream":
                text = output["text"]
                if opens_lab:
                    text = _LAB_OPEN_LINE.sub("", text)
                if text:
                    shown.append(("stream", output.get("name"), text))
            elif kind in ("execute_result", "display_data"):
                data = dict(output.get("data", {}))
                if WIDGET in data:
                    shown.append((kind, sorted(data)))
                    continue
                kept = {
                    mime: "".join(value) if isinstance(value, list) else value
                    for mime, value in data.items()
                    if not mime.startswith("image/")
                }
                shown.append((kind, sorted(data), kept))
            elif kind == "error":
                shown.append(("error", output.get("ename"), output.get("evalue")))
        cells.append(shown)
    return cells


def _coalesced(outputs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Outputs with consecutive stream outputs of one stream joined (the kernel's chunks vary)."""
    joined: list[dict[str, Any]] = []
    for output in outputs:
        if output.get("output_type") == "stream":
            text = "".join(output.get("text", ""))
            last = joined[-1] if joined else {}
            if last.get("output_type") == "stream" and last.get("name") == output.get("name"):
                last["text"] += text
                continue
            joined.append({"output_type": "stream", "name": output.get("name"), "text": text})
        else:
            joined.append(dict(output))
    return joined


def output_differences(
    published: Mapping[str, Any],
    replayed: Mapping[str, Any],
    published_figures: Sequence[Any] | None = None,
    replayed_figures: Sequence[Any] | None = None,
) -> list[str]:
    """Where a replay's outputs differ from the published ones, one line per cell (none: same).

    Figures are compared when both sides' figure data is given.
    """
    before, after = seen(published), seen(replayed)
    found = []
    if len(before) != len(after):
        found.append(f"{len(before)} code cells published, {len(after)} replayed")
    for index, (a, b) in enumerate(zip(before, after, strict=False)):
        if a != b:
            found.append(f"code cell {index}: published {_short(a)}, replayed {_short(b)}")
    both = published_figures is not None and replayed_figures is not None
    if both and list(published_figures or []) != list(replayed_figures or []):
        found.append(
            f"figures: published {_short(published_figures)}, replayed {_short(replayed_figures)}"
        )
    return found


def _short(value: Any, limit: int = 600) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


__all__ = ["output_differences", "seen"]

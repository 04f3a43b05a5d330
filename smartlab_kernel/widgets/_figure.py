"""Static matplotlib figures as PNG bytes, for plots that change rarely."""

from __future__ import annotations

import io
from collections.abc import Callable

from matplotlib.axes import Axes
from matplotlib.figure import Figure


def png(
    draw: Callable[[list[Axes]], None], columns: int = 1, size: tuple[float, float] = (9, 3)
) -> bytes:
    """Draw on ``columns`` side-by-side axes and return the figure as PNG bytes.

    No pyplot state is used, so this is safe whatever matplotlib backend the
    notebook has selected.
    """
    figure = Figure(figsize=size, dpi=90, layout="constrained")
    axes = [figure.add_subplot(1, columns, i + 1) for i in range(columns)]
    draw(axes)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


__all__ = ["png"]

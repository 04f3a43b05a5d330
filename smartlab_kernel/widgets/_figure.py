"""Figures for the widgets: static matplotlib PNGs, and axis labels and values for people.

Field names such as ``recipe.temperature_c`` or ``power_w`` say their units
in a suffix; :func:`label` turns them into ``"Temperature (degC)"`` and
:func:`quantity` shows ``5470`` W as ``"5.47 kW"``.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

#: Units said by the end of a field name, longest first (``_m_s`` before ``_s``).
SUFFIX_UNITS: tuple[tuple[str, str], ...] = (
    ("_m3_s", "m³/s"),
    ("_l_min", "L/min"),
    ("_m_s", "m/s"),
    ("_per_h", "per h"),
    ("_degc", "degC"),
    ("_kwh", "kWh"),
    ("_rpm", "rpm"),
    ("_pct", "%"),
    ("_ppm", "ppm"),
    ("_min", "min"),
    ("_ml", "mL"),
    ("_ul", "µL"),
    ("_pa", "Pa"),
    ("_hz", "Hz"),
    ("_nm", "nm"),
    ("_mm", "mm"),
    ("_kw", "kW"),
    ("_c", "degC"),
    ("_s", "s"),
    ("_w", "W"),
    ("_h", "h"),
    ("_m", "m"),
    ("_v", "V"),
    ("_a", "A"),
    ("_k", "K"),
    ("_g", "g"),
)
#: Units that read better with an SI prefix (5470 W -> 5.47 kW).
PREFIXED_UNITS = frozenset({"W", "Wh", "J", "Pa", "Hz", "V", "A", "g"})
_PREFIXES = ((1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""), (1e-3, "m"), (1e-6, "µ"))
#: Font sizes (points) for the widgets' figures: small, as the notebook's own text.
FONT_SIZE = 8.0


#: Words written in capitals in labels.
_ACRONYMS = {"estop": "E-stop", "co2": "CO2", "hvac": "HVAC", "uid": "UID", "id": "ID", "ph": "pH"}
#: Units written out as a name's last word.
_UNIT_WORDS = {"seconds": "s", "minutes": "min", "hours": "h", "volts": "V", "watts": "W"}
#: Dotted prefixes of metadata containers, not part of what a field is.
_CONTAINERS = ("recipe", "start", "stop", "md", "data")


def split_units(field: str) -> tuple[str, str]:
    """Split a field name into words and the units its suffix says.

    Args:
        field: A field or dotted name, e.g. ``"recipe.temperature_c"`` or ``"hold.seconds"``.

    Returns:
        ``(words, units)``, e.g. ``("Temperature", "degC")`` or ``("Hold seconds", "")``;
        units ``""`` when the name says none. Metadata containers (``recipe.``,
        ``start.``) are left out of the words.
    """
    parts = field.split(".")
    while len(parts) > 1 and parts[0] in _CONTAINERS:
        parts = parts[1:]
    name = "_".join(parts)
    units = ""
    for suffix, said in SUFFIX_UNITS:
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            name, units = name[: -len(suffix)], said
            break
    head, _, last = name.rpartition("_")
    if not units and head and last.lower() in _UNIT_WORDS:  # "hold_seconds": "Hold (s)"
        name, units = head, _UNIT_WORDS[last.lower()]
    words = " ".join(_ACRONYMS.get(word, word) for word in name.split("_") if word)
    return (words[:1].upper() + words[1:]) if words else field, units


def label(field: str, units: str | None = None) -> str:
    """A human axis or column label with its units: ``"Temperature (degC)"``.

    Args:
        field: The field name, e.g. ``"recipe.temperature_c"`` or ``"hold.seconds"``.
        units: Units from the signal's metadata; they win over the name's suffix.

    Returns:
        The words of the name, capitalised, and the units in brackets if known.
    """
    words, said = split_units(field)
    if units is not None and units.strip():
        said = units.strip()
    return f"{words} ({said})" if said else words


def quantity(value: float, units: str = "", digits: int = 3) -> str:
    """A value with its units, readably: ``quantity(5470, "W") == "5.47 kW"``.

    Args:
        value: The number.
        units: Its units; those in :data:`PREFIXED_UNITS` get an SI prefix.
        digits: Significant digits.

    Returns:
        The text, ``"unreadable"`` for NaN.
    """
    if isinstance(value, float) and math.isnan(value):
        return "unreadable"
    if units in PREFIXED_UNITS and value != 0 and math.isfinite(value):
        for scale, prefix in _PREFIXES:
            if abs(value) >= scale * 0.9995 or scale == _PREFIXES[-1][0]:
                return f"{value / scale:.{digits}g} {prefix}{units}"
    text = f"{value:.{digits}g}" if isinstance(value, float) else str(value)
    if "e" in text and math.isfinite(value):  # no exponents for people: 12300 not 1.23e+04
        text = (
            f"{value:,.0f}"
            if abs(value) >= 1
            else np.format_float_positional(value, precision=digits, fractional=False)
        )
    return f"{text} {units}".strip()


def integer_ticks(axes: Axes, axis: str = "x", count: int | None = None) -> None:
    """Tick a count axis (events, experiments) at whole numbers only.

    Args:
        axes: The matplotlib axes.
        axis: ``"x"`` or ``"y"``.
        count: The largest count shown (numbered from 1); the axis then runs
            from 0.5 to ``count + 0.5``, so a single experiment is tick 1, not
            0.96, 0.98, 1.00...
    """
    target = axes.xaxis if axis == "x" else axes.yaxis
    target.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    if count is not None:
        limits = (0.5, max(1, count) + 0.5)
        if axis == "x":
            axes.set_xlim(*limits)
        else:
            axes.set_ylim(*limits)


def no_data(axes: Axes, message: str = "no data yet") -> None:
    """Say ``message`` in place of empty axes (no ticks, no 0-1 frame)."""
    axes.set_axis_off()
    axes.text(0.5, 0.5, message, ha="center", va="center", color="#777", transform=axes.transAxes)


def figure(
    draw: Callable[[list[Axes]], None], columns: int = 1, size: tuple[float, float] = (9, 3)
) -> Figure:
    """Draw on ``columns`` side-by-side axes of a new figure and return it.

    No pyplot state is used, so this is safe whatever matplotlib backend the
    notebook has selected. Text is :data:`FONT_SIZE` points, as small as the
    notebook's own.

    Args:
        draw: Called with the list of axes to draw on.
        columns: How many axes, side by side.
        size: Figure size in inches (at 90 dpi).
    """
    with mpl.rc_context(
        {
            "font.size": FONT_SIZE,
            "axes.titlesize": FONT_SIZE + 1,
            "axes.labelsize": FONT_SIZE,
            "xtick.labelsize": FONT_SIZE - 0.5,
            "ytick.labelsize": FONT_SIZE - 0.5,
            "legend.fontsize": FONT_SIZE - 0.5,
        }
    ):
        result = Figure(figsize=size, dpi=90, layout="constrained")
        axes = [result.add_subplot(1, columns, i + 1) for i in range(columns)]
        draw(axes)
    return result


def to_png(drawn: Figure) -> bytes:
    """The figure as PNG bytes."""
    buffer = io.BytesIO()
    drawn.savefig(buffer, format="png")
    return buffer.getvalue()


def png(
    draw: Callable[[list[Axes]], None], columns: int = 1, size: tuple[float, float] = (9, 3)
) -> bytes:
    """Draw as :func:`figure` does and return the figure as PNG bytes."""
    return to_png(figure(draw, columns, size))


__all__ = [
    "FONT_SIZE",
    "PREFIXED_UNITS",
    "SUFFIX_UNITS",
    "figure",
    "integer_ticks",
    "label",
    "no_data",
    "png",
    "quantity",
    "split_units",
    "to_png",
]

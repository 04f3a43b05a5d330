"""LivePlot: a canvas plot fed by the lab's document stream, throttled for the browser."""

from __future__ import annotations

import math
import pathlib
import threading
from collections import deque
from typing import Any

import anywidget
import numpy as np
import traitlets as t

from . import _figure
from .marshal import KernelLoop, Throttle

KINDS = ("auto", "scalar", "spectra", "heatmap")


def _lookup(mapping: dict[str, Any], dotted: str) -> Any:
    """``mapping["a"]["b"]`` for ``"a.b"``; ``None`` if a key is missing."""
    value: Any = mapping
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


class LivePlot(anywidget.AnyWidget):
    """Plot a field of the lab's events live, from the document stream.

    A scalar is plotted against the event index or another field; spectra as
    overlaid lines or a heatmap (with a colour bar). Axes are labelled in
    words with units: the field's units from the event descriptor, else those
    its name says (``recipe.temperature_c`` -> "Temperature (degC)"). Counts
    (the event index, spectrum numbers) are ticked at whole numbers.

    Documents arrive on the RunEngine thread and are only buffered there; a
    :class:`~smartlab_kernel.widgets.marshal.Throttle` sends what is new to the
    browser from the kernel's loop, at most ``max_rate`` messages a second,
    however fast the plan emits events. The front end (``live_plot.js``) draws
    on a canvas once per animation frame.

    Args:
        lab: The lab whose documents to plot (anything with ``subscribe`` and
            ``unsubscribe``); ``None`` to feed it with :meth:`add_document`.
        y: Event field to plot, e.g. ``"spectrometer_readout"`` or
            ``"spectrometer_spectrum"``.
        x: Event field, or dotted start-document key (``"recipe.temperature_c"``),
            for the horizontal axis; ``None`` for the event index.
        kind: ``"scalar"``, ``"spectra"`` (overlaid lines), ``"heatmap"``, or
            ``"auto"`` (spectra when ``y`` is an array).
        stream: Event stream to plot.
        max_rate: Most updates sent to the browser per second.
        max_points: Points (or spectra) kept; older ones are dropped.
        title: Plot title (default: ``y`` in words).
    """

    _esm = pathlib.Path(__file__).parent / "live_plot.js"
    _css = pathlib.Path(__file__).parent / "live_plot.css"

    title = t.Unicode("").tag(sync=True)
    x_label = t.Unicode("").tag(sync=True)
    y_label = t.Unicode("").tag(sync=True)
    #: True when the horizontal axis counts events (ticked at whole numbers).
    x_integer = t.Bool(False).tag(sync=True)
    kind = t.Unicode("auto").tag(sync=True)
    points = t.Int(0).tag(sync=True)
    status = t.Unicode("waiting for data").tag(sync=True)
    height = t.Int(260).tag(sync=True)

    def __init__(
        self,
        lab: Any = None,
        y: str = "spectrometer_readout",
        x: str | None = None,
        *,
        kind: str = "auto",
        stream: str = "primary",
        max_rate: float = 30.0,
        max_points: int = 20_000,
        title: str | None = None,
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        if not isinstance(y, str) or not y:
            raise TypeError(f"y must be an event field name, got {y!r}")
        super().__init__(
            title=title if title is not None else _figure.split_units(y)[0],
            x_label=_figure.label(x) if x else "Event",
            y_label=_figure.label(y),
            x_integer=x is None,
            kind=kind,
        )
        self.lab = lab
        self.y = y
        self.x = x
        self.stream = stream
        self.max_points = max_points
        self.updates_sent = 0
        self._lock = threading.Lock()
        self._xs: deque[float] = deque(maxlen=max_points)
        self._ys: deque[float] = deque(maxlen=max_points)
        self._spectra: deque[list[float]] = deque(maxlen=min(max_points, 500))
        self._new_scalars: list[tuple[float, float]] = []
        self._new_spectra: list[list[float]] = []
        self._descriptors: dict[str, str] = {}
        self._labels: dict[str, str] = {}
        self._start: dict[str, Any] = {}
        self._index = 0
        self._loop = KernelLoop()
        self._throttle = Throttle(self._loop, self.flush, max_rate)
        self.on_msg(self._on_front_end_msg)
        self._token: int | None = None
        if lab is not None:
            self._token = lab.subscribe(self.add_document)

    # -- data in (any thread) -------------------------------------------------

    def add_document(self, name: str, doc: dict[str, Any]) -> None:
        """Take one Bluesky document (called on the RunEngine thread by the lab)."""
        if name == "start":
            self._start = doc
        elif name == "descriptor":
            self._descriptors[doc["uid"]] = doc.get("name", "primary")
            if doc.get("name", "primary") == self.stream:
                self._note_units(doc.get("data_keys") or {})
        elif name == "event":
            self._add_event(doc["descriptor"], doc["data"])
        elif name == "event_page":
            fields = doc["data"]
            for i in range(len(doc.get("seq_num", ()))):
                self._add_event(doc["descriptor"], {k: v[i] for k, v in fields.items()})

    def _note_units(self, data_keys: dict[str, Any]) -> None:
        """Axis labels with the units the descriptor gives (shown at the next flush)."""
        labels = {}
        for axis, field in (("y_label", self.y), ("x_label", self.x)):
            key = data_keys.get(field) if field else None
            units = key.get("units") if isinstance(key, dict) else None
            if field and isinstance(units, str) and units.strip():
                labels[axis] = _figure.label(field, units)
        with self._lock:
            self._labels.update(labels)

    def _add_event(self, descriptor: str, data: dict[str, Any]) -> None:
        if self._descriptors.get(descriptor, self.stream) != self.stream or self.y not in data:
            return
        value = data[self.y]
        with self._lock:
            self._index += 1
            if np.ndim(value) >= 1:
                row = [float(v) for v in np.ravel(value)]
                self._spectra.append(row)
                self._new_spectra.append(row)
            else:
                y = _finite(value)
                if y is None:
                    return
                if self.x is None:
                    x: float | None = float(self._index)
                else:
                    raw = data[self.x] if self.x in data else _lookup(self._start, self.x)
                    x = _finite(raw)
                if x is None:
                    return
                self._xs.append(x)
                self._ys.append(y)
                self._new_scalars.append((x, y))
        self._throttle.request()

    # -- data out (kernel loop) -----------------------------------------------

    def flush(self) -> None:
        """Send what arrived since the last flush to the browser (kernel thread)."""
        with self._lock:
            scalars, self._new_scalars = self._new_scalars, []
            spectra, self._new_spectra = self._new_spectra, []
            total = len(self._xs) + len(self._spectra)
            labels, self._labels = self._labels, {}
        for axis, text in labels.items():
            setattr(self, axis, text)
        if not scalars and not spectra:
            return
        message: dict[str, Any] = {"type": "append"}
        if scalars:
            message["x"] = [p[0] for p in scalars]
            message["y"] = [p[1] for p in scalars]
        if spectra:
            message["spectra"] = spectra
        self.send(message)
        self.updates_sent += 1
        with self.hold_sync():
            self.points = total
            self.status = f"{total} {'spectra' if spectra else 'points'}"

    def snapshot(self) -> dict[str, Any]:
        """Everything kept so far, as sent to a newly opened view."""
        with self._lock:
            return {
                "type": "reset",
                "x": list(self._xs),
                "y": list(self._ys),
                "spectra": list(self._spectra),
            }

    def clear(self) -> None:
        """Forget the data plotted so far."""
        with self._lock:
            self._xs.clear()
            self._ys.clear()
            self._spectra.clear()
            self._new_scalars, self._new_spectra = [], []
            self._index = 0
        self.points = 0
        self.status = "cleared"
        self.send(self.snapshot())

    def _on_front_end_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "snapshot":
            self.send(self.snapshot())

    def close(self) -> None:
        """Stop listening to the lab and close the widget."""
        if self._token is not None and self.lab is not None:
            self.lab.unsubscribe(self._token)
            self._token = None
        super().close()


__all__ = ["LivePlot"]

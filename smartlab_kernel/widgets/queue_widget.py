"""QueueWidget: the shared queue of a served lab, my place in it, and (instructors) control."""

from __future__ import annotations

import html
import threading
from typing import Any, Protocol

import ipywidgets as w


class QueueSource(Protocol):
    """What the widget reads (and, for instructors, changes): a :class:`RemoteLab`."""

    user: str
    is_instructor: bool

    def status(self) -> dict[str, Any]:
        """Queue state, running item, length, and my positions."""
        ...

    def queue(self) -> list[dict[str, Any]]:
        """Waiting items in order."""
        ...

    def history(self) -> list[dict[str, Any]]:
        """Items that ran."""
        ...

    def remove(self, item_uid: str) -> None:
        """Remove a waiting item."""
        ...

    def move(self, item_uid: str, position: int) -> None:
        """Move a waiting item to ``position`` (1 = next)."""
        ...


def _item_text(item: dict[str, Any]) -> str:
    kwargs = ", ".join(f"{k}={v}" for k, v in item.get("kwargs", {}).items())
    return f"{item.get('name')}({kwargs}) by {item.get('user')}"


class QueueWidget(w.VBox):
    """The shared queue: what runs now, what waits (mine marked), and the recent history.

    An instructor also gets a list of the waiting items with Up, Down and
    Remove. Call :meth:`refresh` to update, or :meth:`start` to refresh every
    ``interval`` seconds in the background (:meth:`stop` ends it).

    Args:
        lab: The connected lab (``Lab.connect(...)``).
        history_rows: How many of the latest history items to show.
    """

    def __init__(self, lab: QueueSource, *, history_rows: int = 10) -> None:
        self.lab = lab
        self.history_rows = history_rows
        self.summary = w.HTML()
        self.running = w.HTML()
        self.waiting = w.HTML()
        self.recent = w.HTML()
        self.message = w.HTML()
        self.items: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        children: list[w.Widget] = [self.summary, self.running, self.waiting]
        self.selector = w.Select(options=[], rows=6, layout=w.Layout(width="100%"))
        self.up_button = w.Button(description="Up", icon="arrow-up")
        self.down_button = w.Button(description="Down", icon="arrow-down")
        self.remove_button = w.Button(description="Remove", icon="trash", button_style="danger")
        self.up_button.on_click(lambda _: self.move_selected(-1))
        self.down_button.on_click(lambda _: self.move_selected(+1))
        self.remove_button.on_click(lambda _: self.remove_selected())
        if lab.is_instructor:
            buttons = w.HBox([self.up_button, self.down_button, self.remove_button])
            children += [w.HTML("<b>Manage the queue</b>"), self.selector, buttons]
        children += [self.recent, self.message]
        super().__init__(children)
        self.refresh()

    def refresh(self) -> None:
        """Read the queue and history now and redraw."""
        try:
            status = self.lab.status()
            self.items = self.lab.queue()
            history = self.lab.history()[-self.history_rows :]
        except Exception as exc:  # shown, not raised: a refresh must not kill the notebook
            self.message.value = f"<span style='color:#b00'>{html.escape(str(exc))}</span>"
            return
        self.message.value = ""
        mine = status.get("my_positions") or []
        where = ", ".join(str(p) for p in mine) if mine else "none waiting"
        self.summary.value = (
            f"<b>{html.escape(self.lab.user)}</b> - queue {status.get('manager_state')}, "
            f"{len(self.items)} waiting; your positions: {where}"
        )
        running = status.get("running")
        self.running.value = (
            f"Running: {html.escape(_item_text(running))}" if running else "Running: nothing"
        )
        bold = ' style="font-weight:bold"'
        rows = "".join(
            f"<li{bold if item['mine'] else ''}>{html.escape(_item_text(item))}</li>"
            for item in self.items
        )
        self.waiting.value = f"<ol>{rows}</ol>" if rows else "<i>queue empty</i>"
        self.recent.value = (
            "<b>History</b><ul>"
            + "".join(
                f"<li>{html.escape(_item_text(h))}: {html.escape(str(h.get('exit_status')))}</li>"
                for h in reversed(history)
            )
            + "</ul>"
        )
        self.selector.options = [
            (f"{item['position']}. {_item_text(item)}", item["item_uid"]) for item in self.items
        ]

    def _selected(self) -> dict[str, Any] | None:
        uid = self.selector.value
        return next((item for item in self.items if item["item_uid"] == uid), None)

    def move_selected(self, step: int) -> None:
        """Move the selected item ``step`` places (negative: towards the front)."""
        item = self._selected()
        if item is None:
            self.message.value = "select an item first"
            return
        target = min(max(1, int(item["position"]) + step), len(self.items))
        self.lab.move(item["item_uid"], target)
        self.refresh()
        self.selector.value = item["item_uid"]

    def remove_selected(self) -> None:
        """Remove the selected item from the queue."""
        item = self._selected()
        if item is None:
            self.message.value = "select an item first"
            return
        self.lab.remove(item["item_uid"])
        self.refresh()

    def start(self, interval: float = 2.0) -> None:
        """Refresh every ``interval`` seconds in a background thread."""
        if self._thread is not None:
            return
        self._stop.clear()

        def loop() -> None:
            while not self._stop.wait(interval):
                self.refresh()

        self._thread = threading.Thread(target=loop, name="queue-widget", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the background refresh."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

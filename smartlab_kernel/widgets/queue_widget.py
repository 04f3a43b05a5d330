"""QueueWidget: the shared queue of a served lab, my place in it, and (instructors) control."""

from __future__ import annotations

import html
import threading
from typing import Any, Protocol

import ipywidgets as w

from . import _format

#: The queue manager's states (bluesky-queueserver) in words, with a colour for each.
MANAGER_STATES: dict[str, tuple[str, str]] = {
    "idle": ("idle: not running the queue", "#555555"),
    "executing_queue": ("running the queue", "#1b7a1b"),
    "executing_task": ("running a task", "#1b7a1b"),
    "starting_queue": ("starting the queue", "#1f5fa8"),
    "paused": ("paused", "#b26b00"),
    "initializing": ("starting up", "#1f5fa8"),
    "creating_environment": ("starting up its run environment", "#1f5fa8"),
    "closing_environment": ("closing its run environment", "#b26b00"),
    "destroying_environment": ("stopping its run environment", "#c00000"),
}


def manager_state_html(state: Any) -> str:
    """The queue manager's state in words and colour, e.g. ``executing_queue`` -> running.

    Args:
        state: The ``manager_state`` the server reports (``None`` if it said none).

    Returns:
        HTML: a coloured ``<span class="smartlab-queue-state" data-state=...>``.
    """
    raw = str(state) if state is not None else "unknown"
    words, colour = MANAGER_STATES.get(raw, (raw.replace("_", " "), "#555555"))
    return (
        f'<span class="smartlab-queue-state" data-state="{html.escape(raw)}" '
        f'style="color:{colour};font-weight:bold">{html.escape(words)}</span>'
    )


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

    The queue's state is said in words, in colour ("running the queue" in
    green, "paused" in orange). An instructor also gets a list of the waiting
    items with Up, Down and Remove; Remove asks first ("Remove 2. measure(...)
    by bob?" with **Confirm remove** and **Cancel**). Call :meth:`refresh` to
    update, or :meth:`start` to refresh every ``interval`` seconds in the
    background (:meth:`stop` ends it).

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
        self.remove_button.add_class("smartlab-queue-remove")
        #: The item Remove asked about, until confirmed or cancelled.
        self.pending_remove: dict[str, Any] | None = None
        self._refreshing = False
        self.confirm_text = w.HTML()
        self.confirm_remove_button = w.Button(
            description="Confirm remove", icon="trash", button_style="danger"
        )
        self.confirm_remove_button.add_class("smartlab-queue-confirm-remove")
        self.cancel_remove_button = w.Button(description="Cancel")
        self.cancel_remove_button.add_class("smartlab-queue-cancel-remove")
        self.confirm_remove_button.on_click(lambda _: self.confirm_remove())
        self.cancel_remove_button.on_click(lambda _: self.cancel_remove())
        self.confirm_box = w.HBox(
            [self.confirm_text, self.confirm_remove_button, self.cancel_remove_button],
            layout=w.Layout(display="none", align_items="center"),
        )
        self.selector.observe(self._on_select, names="value")
        if lab.is_instructor:
            buttons = w.HBox([self.up_button, self.down_button, self.remove_button])
            children += [
                w.HTML("<b>Manage the queue</b>"),
                self.selector,
                buttons,
                self.confirm_box,
            ]
        children += [self.recent, self.message]
        super().__init__(children)
        self.add_class("smartlab-queue")
        self.refresh()

    def refresh(self) -> None:
        """Read the queue and history now and redraw."""
        try:
            status = self.lab.status()
            self.items = self.lab.queue()
            history = self.lab.history()[-self.history_rows :]
        except Exception as exc:  # shown, not raised: a refresh must not kill the notebook
            self.message.value = _format.error(f"queue not read: {_format.exception(exc)}")
            return
        self.message.value = ""
        mine = status.get("my_positions") or []
        where = ", ".join(str(p) for p in mine) if mine else "none waiting"
        self.summary.value = (
            f"<b>{html.escape(self.lab.user)}</b> - "
            f"{manager_state_html(status.get('manager_state'))}, "
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
        selected = self.selector.value
        self._refreshing = True
        try:  # new options reset the selection: keep the instructor's choice
            self.selector.options = [
                (f"{item['position']}. {_item_text(item)}", item["item_uid"]) for item in self.items
            ]
            uids = [item["item_uid"] for item in self.items]
            if selected in uids:
                self.selector.value = selected
        finally:
            self._refreshing = False
        pending = self.pending_remove
        if pending is not None and pending["item_uid"] not in uids:
            self.cancel_remove()
            self.message.value = _format.note(f"{_item_text(pending)} left the queue meanwhile")

    def _selected(self) -> dict[str, Any] | None:
        uid = self.selector.value
        return next((item for item in self.items if item["item_uid"] == uid), None)

    def move_selected(self, step: int) -> None:
        """Move the selected item ``step`` places (negative: towards the front)."""
        item = self._selected()
        if item is None:
            self.message.value = _format.error("select an item in the list first")
            return
        target = min(max(1, int(item["position"]) + step), len(self.items))
        self.lab.move(item["item_uid"], target)
        self.refresh()
        self.selector.value = item["item_uid"]

    def remove_selected(self) -> None:
        """Ask to remove the selected item (what **Remove** does): nothing is removed yet.

        The question and **Confirm remove** / **Cancel** show in place of the
        buttons; :meth:`confirm_remove` removes the item asked about.
        """
        item = self._selected()
        if item is None:
            self.message.value = _format.error("select an item in the list first")
            return
        self.pending_remove = item
        self.confirm_text.value = _format.error(
            f"Remove {item['position']}. {_item_text(item)}? It cannot be undone."
        )
        self.confirm_box.layout.display = "flex"
        self.remove_button.disabled = True
        self.message.value = ""

    def confirm_remove(self) -> bool:
        """Remove the item :meth:`remove_selected` asked about.

        Returns:
            True if it was removed; False if nothing was asked about (the
            reason is shown) or the server refused (its error is shown).
        """
        item = self.pending_remove
        if item is None:
            self.message.value = _format.error("nothing to remove: press Remove first")
            return False
        self.cancel_remove()
        try:
            self.lab.remove(item["item_uid"])
        except Exception as exc:  # shown: the server may have run or removed it meanwhile
            self.message.value = _format.error(
                f"{_item_text(item)} not removed: {_format.exception(exc)}"
            )
            return False
        self.refresh()
        self.message.value = _format.note(f"removed {_item_text(item)}")
        return True

    def _on_select(self, change: dict[str, Any]) -> None:
        pending = self.pending_remove
        if self._refreshing or pending is None:
            return
        if change["new"] != pending["item_uid"]:
            self.cancel_remove()  # another item chosen: the question was about the old one

    def cancel_remove(self) -> None:
        """Forget the pending remove; the Remove button is back."""
        self.pending_remove = None
        self.confirm_text.value = ""
        self.confirm_box.layout.display = "none"
        self.remove_button.disabled = False

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


__all__ = ["MANAGER_STATES", "QueueSource", "QueueWidget", "manager_state_html"]

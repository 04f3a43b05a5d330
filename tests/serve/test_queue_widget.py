"""QueueWidget logic against a fake queue (no servers)."""

from __future__ import annotations

from typing import Any

from smartlab_kernel.widgets.queue_widget import QueueWidget


class FakeQueue:
    def __init__(self, user: str, instructor: bool) -> None:
        self.user = user
        self.is_instructor = instructor
        self.items = [
            {"item_uid": f"u{i}", "name": "measure", "user": who, "kwargs": {"hold_s": i}}
            for i, who in enumerate(["alice", "bob", "alice"], start=1)
        ]

    def queue(self) -> list[dict[str, Any]]:
        return [
            {**item, "position": p, "mine": item["user"] == self.user}
            for p, item in enumerate(self.items, start=1)
        ]

    def status(self) -> dict[str, Any]:
        mine = [q["position"] for q in self.queue() if q["mine"]]
        running = {"name": "measure", "user": "carol", "kwargs": {}}
        return {"manager_state": "executing_queue", "running": running, "my_positions": mine}

    def history(self) -> list[dict[str, Any]]:
        return [{"name": "measure", "user": "bob", "kwargs": {}, "exit_status": "completed"}]

    def remove(self, item_uid: str) -> None:
        self.items = [i for i in self.items if i["item_uid"] != item_uid]

    def move(self, item_uid: str, position: int) -> None:
        item = next(i for i in self.items if i["item_uid"] == item_uid)
        self.items.remove(item)
        self.items.insert(position - 1, item)


def test_student_view_shows_my_positions_and_no_controls() -> None:
    widget = QueueWidget(FakeQueue("alice", instructor=False))
    assert "your positions: 1, 3" in widget.summary.value
    assert "carol" in widget.running.value
    assert "completed" in widget.recent.value
    assert widget.selector not in widget.children
    assert widget.waiting.value.count("font-weight:bold") == 2


def test_instructor_can_reorder_and_remove() -> None:
    fake = FakeQueue("ta", instructor=True)
    widget = QueueWidget(fake)
    assert widget.selector in widget.children
    widget.selector.value = "u3"
    widget.move_selected(-1)
    assert [i["item_uid"] for i in fake.items] == ["u1", "u3", "u2"]
    widget.selector.value = "u1"
    widget.remove_selected()
    widget.confirm_remove()
    assert [i["item_uid"] for i in fake.items] == ["u3", "u2"]
    assert [v for _, v in widget.selector.options] == ["u3", "u2"]


def test_remove_asks_first_and_cancel_keeps_the_item() -> None:
    fake = FakeQueue("ta", instructor=True)
    widget = QueueWidget(fake)
    assert widget.confirm_box in widget.children
    assert widget.confirm_box.layout.display == "none"
    widget.selector.value = "u2"
    widget.remove_button.click()
    assert [i["item_uid"] for i in fake.items] == ["u1", "u2", "u3"], "not removed yet"
    assert widget.confirm_box.layout.display == "flex"
    assert "Remove 2. measure(hold_s=2) by bob?" in widget.confirm_text.value
    assert widget.remove_button.disabled
    widget.refresh()  # the background refresh neither cancels the question nor moves the choice
    assert widget.pending_remove is not None and widget.selector.value == "u2"
    widget.cancel_remove_button.click()
    assert [i["item_uid"] for i in fake.items] == ["u1", "u2", "u3"]
    assert widget.confirm_box.layout.display == "none" and not widget.remove_button.disabled

    widget.remove_button.click()
    widget.selector.value = "u3"  # another item chosen: the question about u2 is withdrawn
    assert widget.pending_remove is None and widget.confirm_box.layout.display == "none"
    assert not widget.confirm_remove()
    assert "press Remove first" in widget.message.value
    assert len(fake.items) == 3

    widget.remove_button.click()
    widget.confirm_remove_button.click()
    assert [i["item_uid"] for i in fake.items] == ["u1", "u2"]
    assert "removed measure(hold_s=3) by alice" in widget.message.value
    assert widget.confirm_box.layout.display == "none"


def test_the_queue_state_is_said_in_words_and_colour() -> None:
    fake = FakeQueue("alice", instructor=False)
    widget = QueueWidget(fake)
    assert "executing_queue" not in widget.summary.value.replace('data-state="executing_queue"', "")
    assert "running the queue" in widget.summary.value
    assert "color:#1b7a1b" in widget.summary.value
    fake.status = lambda: {"manager_state": "paused", "running": None, "my_positions": []}  # type: ignore[method-assign]
    widget.refresh()
    assert ">paused<" in widget.summary.value and "color:#b26b00" in widget.summary.value
    fake.status = lambda: {"manager_state": "some_new_state", "my_positions": []}  # type: ignore[method-assign]
    widget.refresh()
    assert ">some new state<" in widget.summary.value


def test_refresh_errors_are_shown_not_raised() -> None:
    fake = FakeQueue("alice", instructor=False)
    widget = QueueWidget(fake)

    def broken() -> dict[str, Any]:
        raise RuntimeError("server restarting")

    fake.status = broken  # type: ignore[method-assign]
    widget.refresh()
    assert "server restarting" in widget.message.value

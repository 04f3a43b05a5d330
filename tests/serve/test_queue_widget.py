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
    assert [i["item_uid"] for i in fake.items] == ["u3", "u2"]
    assert [v for _, v in widget.selector.options] == ["u3", "u2"]


def test_refresh_errors_are_shown_not_raised() -> None:
    fake = FakeQueue("alice", instructor=False)
    widget = QueueWidget(fake)

    def broken() -> dict[str, Any]:
        raise RuntimeError("server restarting")

    fake.status = broken  # type: ignore[method-assign]
    widget.refresh()
    assert "server restarting" in widget.message.value

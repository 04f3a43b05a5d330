from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import bluesky.plan_stubs as bps
import bluesky.preprocessors as bpp

from smartlab_kernel.session import Lab
from smartlab_kernel.widgets.run_control import RunControl


def _state(control: RunControl) -> str:
    control.refresh()
    return control.run.state if control.run is not None else "idle"


def test_shows_idle_or_last_run_and_refuses_pause_when_idle(
    idle_lab: Lab, messages: list[dict[str, Any]]
) -> None:
    control = RunControl(idle_lab)
    assert control.pause_button.disabled and control.resume_button.disabled
    assert control.abort_button.disabled
    control.pause_button.click()
    assert "nothing to pause" in control.error.value
    control.resume_button.click()
    assert "cannot resume" in control.error.value
    control.ask_abort()
    assert "nothing to abort" in control.error.value
    assert control.confirm_box.layout.display == "none"
    assert any(m["msg_type"] == "comm_open" for m in messages)
    control.close()


def test_pause_resume_and_abort_with_confirmation(
    idle_lab: Lab,
    slow_plan: Callable[..., Any],
    messages: list[dict[str, Any]],
    wait_for: Callable[..., None],
) -> None:
    control = RunControl(idle_lab)
    run = idle_lab.submit(slow_plan())
    wait_for(lambda: _state(control) == "running", what="running")
    assert control.run is run
    assert "measure_recipe" in control.plan.value
    assert "running" in control.state.value
    assert not control.pause_button.disabled and control.resume_button.disabled
    wait_for(lambda: _state(control) == "running" and "0 / 1 points" in control.counts.value)

    wait_for(slow_plan.holding, what="reactor hold")  # type: ignore[attr-defined]
    sent_before = len(messages)
    control.pause_button.click()
    wait_for(lambda: _state(control) == "paused", what="paused")
    assert "paused" in control.state.value
    assert control.pause_button.disabled and not control.resume_button.disabled
    assert control.error.value == ""
    updates = [m for m in messages[sent_before:] if m["msg_type"] == "comm_msg"]
    assert any("paused" in str(m["data"]) for m in updates), "state change sent to the front end"

    control.resume_button.click()
    wait_for(lambda: _state(control) == "running", what="running again")

    control.abort_button.click()
    assert control.confirm_box.layout.display == "flex"
    assert "Abort run" in control.confirm_text.value
    control.cancel_button.click()
    assert control.confirm_box.layout.display == "none"
    assert run.state == "running", "cancel does not abort"

    control.abort_button.click()
    control.reason.value = "wrong vial"
    control.confirm_button.click()
    wait_for(lambda: _state(control) == "aborted", what="aborted")
    assert "aborted: wrong vial" in control.error.value
    assert control.abort_button.disabled
    assert run.reason == "wrong vial"
    control.close()


def _failing_plan() -> Generator[Any, Any, Any]:
    @bpp.run_decorator(md={"plan_name": "failing"})
    def inner() -> Generator[Any, Any, Any]:
        yield from bps.null()
        raise RuntimeError("the stirrer jammed at 300 rpm")

    return (yield from inner())


def test_failed_run_error_in_plain_words(idle_lab: Lab, wait_for: Callable[..., None]) -> None:
    control = RunControl(idle_lab)
    run = idle_lab.submit(_failing_plan())
    wait_for(lambda: run.done, what="failure")
    control.refresh()
    assert control.state.value.count("failed")
    assert f"Run #{run.number} failed: the stirrer jammed at 300 rpm" in control.error.value
    assert control.progress.bar_style == "danger"
    control.close()


def test_queued_run_is_shown_and_abort_drops_it(
    idle_lab: Lab, slow_plan: Callable[..., Any], wait_for: Callable[..., None]
) -> None:
    control = RunControl(idle_lab)
    first = idle_lab.submit(slow_plan())
    second = idle_lab.submit(slow_plan())
    wait_for(lambda: _state(control) == "running", what="running")
    assert control.run is first
    control.ask_abort()
    control.confirm_abort()
    assert "could not abort" not in control.error.value, control.error.value
    wait_for(lambda: first.done and second.done, what="both ended")
    assert second.state == "aborted"
    control.refresh()
    assert control.run is second and "aborted" in control.state.value
    control.close()

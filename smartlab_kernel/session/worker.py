"""The RunEngine on a worker thread, so a running plan never blocks the notebook."""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from bluesky import RunEngine
from bluesky.utils import RunEngineInterrupted

from .errors import SessionError
from .run import Run
from .wrapping import explain

log = logging.getLogger(__name__)

Command = tuple[str, Any]


class RunWorker:
    """Runs submitted plans one after another on its own thread.

    The calling thread (the notebook's) only queues work and sends control
    commands, so it stays free. When a plan pauses, ``RunEngine.__call__``
    returns on the worker thread; the worker then waits for ``resume``,
    ``abort`` or ``stop`` and calls the matching RunEngine method there.

    Args:
        engine: The RunEngine (created with ``context_managers=[]``).
        prepare: Turns ``(plan, run)`` into the plan actually run (adds metadata).
        on_end: Called on the worker thread after each plan has ended.
    """

    def __init__(
        self,
        engine: RunEngine,
        prepare: Callable[[Any, Run], Any],
        on_end: Callable[[Run], None] | None = None,
    ) -> None:
        self.engine = engine
        self._prepare = prepare
        self._on_end = on_end
        self._plans: queue.Queue[tuple[Any, Run] | None] = queue.Queue()
        self._commands: queue.Queue[Command] = queue.Queue()
        #: Set while a paused plan waits for ``resume``/``abort``/``stop``.
        self.awaiting_command = threading.Event()
        self.current: Run | None = None
        self._thread = threading.Thread(target=self._loop, name="smartlab-runengine", daemon=True)
        self._thread.start()

    def submit(self, plan: Any, run: Run) -> None:
        """Queue a plan; it starts when the ones before it have ended."""
        self._plans.put((plan, run))

    def command(self, name: str, argument: Any = None) -> None:
        """Send ``resume``, ``abort`` (argument: reason) or ``stop`` to a paused plan."""
        if self.current is None or self.current.state != "paused":
            state = self.current.state if self.current else "idle"
            raise SessionError(f"cannot {name}: no plan is paused (the session is {state})")
        self._commands.put((name, argument))

    def close(self) -> None:
        """Stop the worker after the queued plans (call ``abort`` first to cut them short)."""
        self._plans.put(None)
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        while True:
            item = self._plans.get()
            if item is None:
                return
            plan, run = item
            if run.done:  # aborted while queued
                continue
            self._drop_stale_commands()
            self.current = run
            try:
                self._execute(plan, run)
            finally:
                self.current = None
                if self._on_end is not None:
                    self._on_end(run)

    def _drop_stale_commands(self) -> None:
        """Forget commands meant for an earlier run (sent as it was ending)."""
        while True:
            try:
                self._commands.get_nowait()
            except queue.Empty:
                return

    def _execute(self, plan: Any, run: Run) -> None:
        self._recover_engine_state()
        run._set_state("running")
        call: Callable[[], Any] = lambda: self.engine(self._prepare(plan, run))  # noqa: E731
        last_command = ""
        while True:
            try:
                outcome = call()
            except RunEngineInterrupted:
                if self.engine.state == "paused":
                    run._set_state("paused")
                    last_command, argument = self._next_command()
                    call = self._resumer(last_command, argument, run)
                    continue
                run._set_state("aborted", run.reason or "interrupted")
                return
            except BaseException as exc:
                if last_command == "abort":
                    run._set_state("aborted", run.reason)
                else:
                    run.error = exc
                    run._set_state("failed", explain(exc))
                return
            run.result = getattr(outcome, "plan_result", None)
            # The RunEngine's own verdict: a plan may end its run as aborted or
            # failed (e.g. raising RequestAbort) without the call raising.
            exit_status = getattr(outcome, "exit_status", "success")
            reason = str(getattr(outcome, "reason", "") or "")
            if last_command == "abort":
                run._set_state("aborted", run.reason)
            elif exit_status == "abort":
                run._set_state("aborted", reason or "aborted by the plan")
            elif exit_status == "fail":
                run._set_state("failed", reason or "failed")
            else:
                run._set_state("finished")
            return

    def _recover_engine_state(self) -> None:
        """Bring back a RunEngine that an interlock left 'suspending' after its plan ended.

        A suspender that trips as a plan ends can set the RunEngine's state
        to 'suspending' after the plan's last message: bluesky then fails to
        go idle ("Cannot transit from 'suspending' to 'idle'") and refuses
        every later plan ("The RunEngine is in a suspending state"). No plan
        runs here, so the state is stale: it is walked back to idle on the
        RunEngine's loop (a tripped interlock still holds the next plan at
        its start, as bluesky checks tripped suspenders there).
        """
        engine = self.engine
        if engine.state != "suspending":
            return
        log.warning("the RunEngine was left 'suspending' after its last plan; set back to idle")

        def walk_back() -> None:
            engine._state = "running"  # suspending -> running -> idle: allowed transitions
            engine._state = "idle"

        done = asyncio.run_coroutine_threadsafe(_call(walk_back), engine.loop)
        done.result(10)

    def _next_command(self) -> Command:
        """Wait for a command; of several queued at once, abort beats stop beats resume.

        A resume and an abort sent in quick succession must end in an abort,
        whichever the worker sees first.
        """
        self.awaiting_command.set()
        try:
            commands = [self._commands.get()]
        finally:
            self.awaiting_command.clear()
        while True:
            try:
                commands.append(self._commands.get_nowait())
            except queue.Empty:
                break
        rank = {"abort": 0, "stop": 1, "resume": 2}
        return min(commands, key=lambda command: rank.get(command[0], 3))

    def _resumer(self, name: str, argument: Any, run: Run) -> Callable[[], Any]:
        if name == "resume":
            run._set_state("running")
            return self.engine.resume
        if name == "abort":
            run.reason = str(argument or "aborted by the operator")
            return lambda: self.engine.abort(run.reason)
        return self.engine.stop


async def _call(function: Callable[[], None]) -> None:
    """Run ``function`` on the event loop this coroutine is scheduled on."""
    function()

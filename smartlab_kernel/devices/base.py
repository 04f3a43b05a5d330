"""Shared behaviour of simulated devices: the bench they live on, faults, timed statuses."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ophyd import Device
from ophyd.status import DeviceStatus

from .errors import DeviceDisconnectedError, DeviceStoppedError, DeviceTimeoutError
from .faults import FaultInjector

if TYPE_CHECKING:
    from .world import BenchWorld

DEFAULT_TIMEOUT = 30.0


class SimulatedDevice(Device):
    """Base class of every simulated instrument.

    A simulated device lives on a :class:`~smartlab_kernel.devices.world.BenchWorld`
    (shared clock, random generator, vials and stations). Top-level devices are
    given the world; their child devices find it through their parent.

    Args:
        prefix: Ophyd prefix (unused by simulated devices; kept for ophyd).
        world: The bench this device belongs to (top-level devices only).
        timeout: Real seconds an operation may take before it fails with
            :class:`~smartlab_kernel.devices.errors.DeviceTimeoutError`
            (default: the parent device's, else ``DEFAULT_TIMEOUT``).
        **kwargs: Passed to :class:`ophyd.Device`.
    """

    fault_kinds: tuple[str, ...] = ("timeout", "disconnect")
    #: Operations are held by :meth:`pause` and carry on for their remaining
    #: time at :meth:`resume`, so a plan interrupted mid-step can wait for them.
    resumes_after_pause = True

    def __init__(
        self,
        prefix: str = "",
        *,
        world: BenchWorld | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> None:
        self._world = world
        self._timeout = timeout
        self._operations: set[_Operation] = set()
        self._pending_lock = threading.Lock()
        super().__init__(prefix, **kwargs)
        self.faults = FaultInjector(self.name, self.fault_kinds)

    @property
    def world(self) -> BenchWorld:
        """The bench this device lives on."""
        node: Any = self
        while node is not None:
            if getattr(node, "_world", None) is not None:
                return node._world
            node = node.parent
        raise RuntimeError(f"device {self.name!r} is not attached to a bench world")

    @property
    def timeout(self) -> float:
        """Real seconds before an operation that does not finish fails.

        A child device without its own timeout uses its parent's (a
        dispenser's pumps use the dispenser's), else ``DEFAULT_TIMEOUT``.
        """
        node: Any = self
        while isinstance(node, SimulatedDevice):
            if node._timeout is not None:
                return node._timeout
            node = node.parent
        return DEFAULT_TIMEOUT

    @timeout.setter
    def timeout(self, value: float) -> None:
        self._timeout = value

    def check_connected(self) -> None:
        """Raise if a disconnect fault is active on this device or its parent."""
        node: Any = self
        while isinstance(node, SimulatedDevice):
            if node.faults.active("disconnect"):
                raise DeviceDisconnectedError(
                    f"device {node.name!r} is not answering (disconnected); "
                    "check its cable/connection and try again"
                )
            node = node.parent

    def read(self) -> dict[str, dict[str, Any]]:
        """Read the device, raising :class:`DeviceDisconnectedError` if it is disconnected."""
        self.check_connected()
        return super().read()

    def timed_status(
        self,
        simulated_seconds: float,
        action: Callable[[], None],
        description: str,
        never_finishes: bool = False,
    ) -> DeviceStatus:
        """Return a status that runs ``action`` and finishes after a simulated duration.

        With a ``timeout`` fault active, or ``never_finishes`` (a stuck axis),
        the action never runs and the status fails after ``self.timeout`` real
        seconds with a :class:`DeviceTimeoutError` naming the device.

        A failed operation leaves the device as :meth:`after_failure` says
        before its status fails. ophyd's ``DeviceStatus`` would instead call
        ``stop()`` from its callback thread *after* waking whoever waits on the
        status, so a caller that went on at once (a retry, a move to a safe
        temperature) could have its next operation cancelled by that late stop
        and reported as "stopped by the operator", which no operator did.

        Args:
            simulated_seconds: How long the operation takes on the bench.
            action: Called (on a timer thread) when the operation completes.
            description: What the operation is, for error messages.
            never_finishes: True when the device is stuck and cannot finish.
        """
        self.check_connected()
        status = DeviceStatus(self, call_stop_on_failure=False)
        if self.faults.active("timeout") or never_finishes:
            reason = "stuck" if never_finishes else "not answering"

            def fail() -> None:
                self.after_failure()
                status.set_exception(
                    DeviceTimeoutError(
                        f"{self.name} did not finish {description} within its timeout of "
                        f"{self.timeout:g} s ({reason})"
                    )
                )

            self._start_timer(self.timeout, fail, status)
            return status

        def finish() -> None:
            try:
                action()
            except Exception as exc:  # reported through the status, never swallowed
                self.after_failure()
                status.set_exception(exc)
            else:
                status.set_finished()

        self._start_timer(self.world.clock.real_seconds(simulated_seconds), finish, status)
        return status

    def after_failure(self) -> None:
        """Put the device in a safe state after one of its operations failed (default: as is).

        Called on the operation's timer thread just before its status fails;
        other operations of the device carry on.
        """

    def _start_timer(
        self, delay: float, callback: Callable[[], None], status: DeviceStatus | None = None
    ) -> None:
        operation = _Operation(callback, status)
        with self._pending_lock:
            self._operations.add(operation)
            self._schedule(operation, delay)

    def _schedule(self, operation: _Operation, delay: float) -> None:
        # called with self._pending_lock held
        def run() -> None:
            with self._pending_lock:
                if operation.timer is not timer or operation not in self._operations:
                    return  # paused or cancelled meanwhile
                self._operations.discard(operation)
            operation.callback()

        timer = threading.Timer(delay, run)
        timer.daemon = True
        operation.timer = timer
        operation.deadline = time.monotonic() + delay
        timer.start()

    def pause(self) -> None:
        """Hold operations in progress (the RunEngine calls this when it pauses)."""
        with self._pending_lock:
            now = time.monotonic()
            for operation in self._operations:
                if operation.timer is not None:
                    operation.timer.cancel()
                    operation.timer = None
                    operation.remaining = max(0.0, operation.deadline - now)

    def resume(self) -> None:
        """Carry on with held operations (the RunEngine calls this when it resumes)."""
        with self._pending_lock:
            for operation in self._operations:
                if operation.timer is None:
                    self._schedule(operation, operation.remaining)

    def stop(self, *, success: bool = False) -> None:
        """Stop operations in progress.

        ``success=True`` is what the RunEngine sends when it pauses or suspends:
        operations are held and carry on at :meth:`resume`. ``success=False``
        (an operator's stop) cancels them: their statuses fail with
        :class:`DeviceStoppedError`.
        """
        if success:
            self.pause()
        else:
            self.discard_pending("stopped by the operator")
        super().stop(success=success)

    def discard_pending(self, reason: str) -> None:
        """Cancel held and running operations of this device and its children.

        Their statuses fail with :class:`DeviceStoppedError` giving ``reason``;
        their effects (a vial moved, a volume dispensed) never happen.
        """
        with self._pending_lock:
            operations, self._operations = self._operations, set()
        for operation in operations:
            if operation.timer is not None:
                operation.timer.cancel()
            if operation.status is not None and not operation.status.done:
                operation.status.set_exception(
                    DeviceStoppedError(f"{self.name}: operation cancelled ({reason})")
                )
        for child_name in self._sub_devices:
            child = getattr(self, child_name)
            if isinstance(child, SimulatedDevice):
                child.discard_pending(reason)


@dataclass(eq=False)
class _Operation:
    """An operation in progress: what to call when it is done, and its timer."""

    callback: Callable[[], None]
    status: DeviceStatus | None
    timer: threading.Timer | None = None
    deadline: float = 0.0
    remaining: float = 0.0

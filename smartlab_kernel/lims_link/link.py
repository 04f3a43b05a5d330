"""The lab's LIMS: every recipe run makes a sample, takes its stock, and is recorded.

With a LIMS attached (``Lab.simulated(lims=...)`` or :func:`attach_lims`),
each plan the lab runs passes through :meth:`LimsLink.wrap`, which watches
its messages:

* a run whose start document has a ``recipe`` registers a new ``mixture``
  sample and adds its id to the start document's ``sample_ids``; every start
  document also gets the audit trail's head (``lims_audit_head``: seq and
  hash), an anchor kept outside the database;
* the run is recorded in the LIMS as soon as it is open (``exit_status``
  null), so a run whose process dies is still there, and is closed as
  failed when the lab reopens its LIMS (:meth:`LimsLink.recover`);
* a dispense (a ``set`` of one of the dispenser's pumps) is checked against
  the stock *before* the pump moves: stock the LIMS does not have fails the
  step with :class:`~smartlab_kernel.lims.InsufficientStockError` before
  anything moves. Each pump's volume is taken out of stock when *its*
  dispense has succeeded, in a short transaction of its own; a dispense that
  failed, was cancelled by an abort or never started (an empty reservoir)
  takes nothing. A pump that reports its dispenses (a ``dispensed`` signal,
  as :class:`~smartlab_kernel.devices.dispenser.SyringePump` has) is
  believed over the RunEngine: an abort that lands just after the pump
  started, before the RunEngine handed its status to the plan, still takes
  the stock the pump reports. So the LIMS stock is always the initial stock
  minus the dispenses that really happened, whatever the way the run ends,
  and no database transaction is held while devices move or a run is paused;
* a robot move of the run's vial updates the sample's location;
* the stop document's exit status and reason are recorded with the run, and
  the new sample moves to ``measured`` (or ``invalidated`` when the run
  failed or was aborted). A LIMS failure while recording a run that failed
  anyway never hides the run's own error: it is added to that error as a note
  and listed in :attr:`LimsLink.problems`.

Low-stock warnings become :attr:`LimsLink.low_stock` messages (shown by
``lab.status()``) instead of warnings raised on the RunEngine's thread.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import uuid
import warnings
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bluesky.utils import FailedPause, FailedStatus, Msg, RunEngineControlException
from ophyd import Signal

from ..lims import (
    FINAL_STATES,
    HEAD_FILE_SUFFIX,
    AuditHead,
    AuditReport,
    InsufficientStockError,
    LimsError,
    LimsStore,
    LowStockWarning,
    SampleState,
)

if TYPE_CHECKING:
    from ..session.lab import Lab
    from ..session.run import Run

#: The sample type of what a recipe run makes.
MIXTURE = "mixture"
#: Reason recorded for a run whose process died (see :meth:`LimsLink.recover`).
DIED_REASON = "process died before the run finished (closed when the lab reopened its LIMS)"
#: Real seconds to wait for a finished dispense to be recorded by its device's thread.
_RECORD_TIMEOUT = 60.0
#: Start-document key holding the audit trail's head when the run opened.
AUDIT_HEAD_KEY = "lims_audit_head"
#: Errors the RunEngine throws at a message from outside it (an abort, a failed
#: pause, another step's failed status): the message itself may have run.
_FROM_OUTSIDE = (RunEngineControlException, FailedPause, FailedStatus)


@dataclass
class _Dispense:
    """One pump's part of a dispense step: what it takes, and its status once started.

    ``settled`` is set once the outcome is being recorded (by whichever thread
    saw the status finish first); ``recorded`` once it is in the LIMS (or
    could not be: ``error``). ``reporter`` is the pump's ``dispensed`` signal
    when it has one: then the stock is taken when the pump reports the
    dispense, not when the RunEngine hands over a successful status.
    """

    item: str
    volume_ml: float
    operator: str
    reporter: Signal | None = None
    status: Any = None
    settled: bool = False
    recorded: threading.Event = field(default_factory=threading.Event)
    error: Exception | None = None


@dataclass
class _Step:
    """A ``set`` group in flight: its dispenses and where it moves the vial."""

    dispenses: list[_Dispense] = field(default_factory=list)
    moves_to: str | None = None


@dataclass
class _RunState:
    """What the link knows of the run a plan has open (a campaign's plan opens several)."""

    run_uid: str | None = None
    sample_id: str | None = None
    sample_ids: list[str] = field(default_factory=list)
    campaign_id: str | None = None
    recorded: bool = False
    finished: bool = False
    steps: dict[Any, _Step] = field(default_factory=dict)
    last_error: BaseException | None = None
    number: int = 0  # runs this plan has opened

    def next_run(self) -> None:
        """A new run opens: forget the previous run of the same plan."""
        self.run_uid = self.sample_id = self.campaign_id = self.last_error = None
        self.sample_ids = []
        self.recorded = self.finished = False
        self.number += 1


class LimsLink:
    """Ties a lab's runs to samples and stock in a :class:`~smartlab_kernel.lims.LimsStore`.

    Args:
        store: The LIMS.
        devices: The lab's devices by name (the dispenser and robot are watched).
        operator: Who acts, for the audit trail: a name, or a function that
            returns the current one (a shared lab's queue item user).
        stocks: Dispenser pump name -> inventory item name (default: pump
            ``a`` -> ``stock_A`` and so on for every pump of the dispenser).
        dispenser: Name of the dispenser in ``devices``.
        robot: Name of the sample-handling robot in ``devices``.
        scope: What the runs belong to, e.g. ``"lab:/path/to/lab-data"``:
            recorded with each run so that :meth:`recover` closes only the
            runs of this lab that a dead process left open. ``None``: no
            recovery.

    Raises:
        KeyError: If there is no such dispenser, or ``stocks`` names pumps it lacks.
    """

    def __init__(
        self,
        store: LimsStore,
        devices: Mapping[str, Any],
        operator: str | Callable[[], str],
        stocks: Mapping[str, str] | None = None,
        dispenser: str = "dispenser",
        robot: str = "robot",
        scope: str | None = None,
    ) -> None:
        self.store = store
        self.dispenser = devices[dispenser]
        self.robot = devices.get(robot)
        self._operator = operator
        pumps = list(getattr(self.dispenser, "component_names", ()))
        self.stocks: dict[str, str] = dict(stocks or {p: f"stock_{p.upper()}" for p in pumps})
        unknown = sorted(set(self.stocks) - set(pumps))
        if unknown:
            raise KeyError(f"stocks names pumps {unknown} the dispenser lacks; pumps: {pumps}")
        self.scope = scope
        #: This link, as recorded with the runs it opens (host, process, instance).
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.low_stock: list[str] = []
        #: What the LIMS could not record (e.g. a dispense that finished after
        #: its run failed, with the database unreachable), in words.
        self.problems: list[str] = []
        #: What :meth:`recover` closed, in words.
        self.recovered: list[str] = []
        self._lock = threading.Lock()
        # dispenses a pump has not reported yet, oldest first, by its ``dispensed`` signal
        self._unreported: dict[Signal, list[tuple[_Dispense, _RunState, int]]] = {}
        self._subscriptions: dict[Signal, int] = {}

    @property
    def operator(self) -> str:
        """Who acts now (recorded in the audit trail)."""
        return self._operator() if callable(self._operator) else self._operator

    # -- what a recipe needs ------------------------------------------------------

    def requirements(self, volumes_ml: Mapping[str, float]) -> dict[str, str]:
        """The inventory a recipe takes: ``{"stock_A": "3 mL", ...}``.

        Args:
            volumes_ml: Pump name -> millilitres, as in ``Recipe.volumes_ml``.
        """
        return {self.stocks[p]: f"{v} mL" for p, v in volumes_ml.items() if v > 0}

    def shortfalls(self, volumes_ml: Mapping[str, float]) -> list[str]:
        """What the LIMS lacks to make a recipe, in words (empty if it has it all)."""
        return [str(s) for s in self.store.shortfalls(self.requirements(volumes_ml))]

    def status(self) -> dict[str, Any]:
        """For ``lab.status()``: the store, low-stock messages, problems and recoveries."""
        with self._lock:
            return {
                "store": repr(self.store),
                "low_stock": list(self.low_stock),
                "problems": list(self.problems),
                "recovered": list(self.recovered),
            }

    def verify_audit(self, catalog: Any = None) -> AuditReport:
        """Verify the LIMS audit trail, also against the heads anchored in run start documents.

        Args:
            catalog: The lab's catalog (``lab.catalog``); each run's start
                document with a ``lims_audit_head`` of this LIMS (its
                ``lims`` is :attr:`LimsStore.location`) is an anchor.
                ``None``: only the head file is checked.

        Returns:
            The report (see :meth:`LimsStore.verify_audit`).
        """
        anchors: list[tuple[str, AuditHead]] = []
        for uid, start in _start_documents(catalog):
            recorded = start.get(AUDIT_HEAD_KEY)
            if isinstance(recorded, Mapping) and recorded.get("lims") == self.store.location:
                with contextlib.suppress(ValueError):
                    anchors.append(
                        (f"the start document of run {uid}", AuditHead.from_dict(recorded))
                    )
        return self.store.verify_audit(anchors)

    # -- recovery -------------------------------------------------------------------

    def recover(self) -> list[str]:
        """Close the runs of this scope that a dead process left open in the LIMS.

        A run is recorded when it opens, with this link's :attr:`scope` and
        :attr:`owner`. One of the same scope still open, and opened by another
        owner, belonged to a process that died mid-run (a lab directory has one
        writer at a time): it is recorded as failed with :data:`DIED_REASON`
        and the sample it made is invalidated. Its stock needs no correction:
        stock is taken only for dispenses that finished.

        Returns:
            One message per run closed (also added to :attr:`recovered`).
        """
        if self.scope is None:
            return []
        closed = []
        for record in self.store.unfinished_runs():
            meta = record.metadata
            if meta.get("scope") != self.scope or meta.get("owner") == self.owner:
                continue
            with self.store.transaction(self.operator) as tx:
                tx.finish_run(record.run_uid, "fail", DIED_REASON)
                sample_id = meta.get("sample_id")
                if sample_id is not None:
                    sample = tx.get_sample(str(sample_id))
                    if sample.state not in FINAL_STATES:
                        tx.transition(sample.sample_id, SampleState.INVALIDATED)
            closed.append(
                f"run {record.run_uid}: closed as failed ({DIED_REASON})"
                + (f"; sample {meta['sample_id']} invalidated" if meta.get("sample_id") else "")
            )
        with self._lock:
            self.recovered += closed
        return closed

    # -- the plan wrapper -----------------------------------------------------------

    def wrap(self, plan: Iterable[Msg], run: Run | None = None) -> Generator[Msg, Any, Any]:
        """Pass ``plan`` through, keeping the LIMS in step with it (see the module docstring).

        Also usable as a RunEngine preprocessor (``RE.preprocessors.append(link.wrap)``).
        """
        state = _RunState()
        generator = iter(plan)
        reply: Any = None
        error: BaseException | None = None
        try:
            while True:
                try:
                    msg = generator.throw(error) if error is not None else generator.send(reply)  # type: ignore[attr-defined]
                except StopIteration as stop:
                    return stop.value
                error = None
                try:
                    msg = self._before(msg, state)
                except Exception as exc:  # e.g. not enough stock: the step never starts
                    error, reply = exc, None
                    continue
                try:
                    reply = yield msg
                except GeneratorExit:
                    generator.close()  # type: ignore[attr-defined]
                    raise
                except BaseException as exc:
                    state.last_error = exc
                    self._failed(msg, state, exc)
                    error, reply = exc, None
                    continue
                try:
                    self._after(msg, reply, state)
                except Exception as exc:  # handed to the plan, which may handle it
                    state.last_error = exc
                    error, reply = exc, None
        finally:
            self._end_run(state)

    def _before(self, msg: Msg, state: _RunState) -> Msg:
        if msg.command == "open_run":
            state.next_run()
            self._drop_earlier_runs(state)
            kwargs = dict(msg.kwargs)
            state.campaign_id = kwargs.get("campaign_id")
            if "recipe" in kwargs:
                sample = self.store.register_sample(
                    MIXTURE,
                    parents=self._stock_samples(kwargs["recipe"]),
                    metadata={"recipe": kwargs["recipe"]},
                    campaign_id=state.campaign_id,
                    operator=self.operator,
                )
                state.sample_id = sample.sample_id
                kwargs["sample_ids"] = [*kwargs.get("sample_ids", []), sample.sample_id]
            state.sample_ids = list(kwargs.get("sample_ids", []))
            head = self.store.audit_head()
            if head is not None:  # anchored in the catalog, outside the LIMS database
                kwargs[AUDIT_HEAD_KEY] = {**head.to_dict(), "lims": self.store.location}
            return msg._replace(kwargs=kwargs)
        if msg.command == "set" and state.sample_id is not None:
            group = msg.kwargs.get("group")
            pump = getattr(msg.obj, "attr_name", None)
            if getattr(msg.obj, "parent", None) is self.dispenser and pump in self.stocks:
                step = state.steps.setdefault(group, _Step())
                # the operator now, on the RunEngine's thread (a served lab's queue user)
                dispense = _Dispense(self.stocks[pump], float(msg.args[0]), self.operator)
                self._check_stock(dispense, state)
                step.dispenses.append(dispense)
                self._watch(msg.obj, dispense, state)
            elif msg.obj is self.robot and isinstance(msg.args[0], tuple | list):
                state.steps.setdefault(group, _Step()).moves_to = str(msg.args[0][1])
        return msg

    def _drop_earlier_runs(self, state: _RunState) -> None:
        """A run opens: dispenses of earlier runs not reported by now never happened."""
        self._stop_waiting(keep=(state, state.number))

    def _stop_waiting(self, keep: tuple[_RunState, int] | None = None) -> None:
        """Give up on unreported dispenses, but those of run ``keep`` (its state and number)."""
        with self._lock:
            for reporter, waiting in list(self._unreported.items()):
                kept = []
                for dispense, state, number in waiting:
                    if keep is not None and state is keep[0] and number == keep[1]:
                        kept.append((dispense, state, number))
                    else:
                        dispense.settled = True
                        dispense.recorded.set()
                waiting[:] = kept
                self._forget_if_idle(reporter)

    def _check_stock(self, dispense: _Dispense, state: _RunState) -> None:
        """Fail before the pump moves if the LIMS lacks the stock (counting dispenses in flight)."""
        pending = sum(
            d.volume_ml
            for step in state.steps.values()
            for d in step.dispenses
            if d.item == dispense.item and not d.settled
        )
        for shortfall in self.store.shortfalls(
            {dispense.item: f"{pending + dispense.volume_ml} mL"}
        ):
            raise InsufficientStockError(shortfall.item, shortfall.requested, shortfall.available)

    def _stock_samples(self, recipe: Mapping[str, Any]) -> list[str]:
        """Sample records of the stocks a recipe uses (its parents in the lineage)."""
        parents = []
        for pump, volume in dict(recipe.get("volumes_ml", {})).items():
            if volume > 0 and pump in self.stocks:
                with contextlib.suppress(LimsError):  # not in the inventory: no lineage
                    item = self.store.get_item(self.stocks[pump])
                    if item.sample_id is not None:
                        parents.append(item.sample_id)
        return parents

    def ensure_stock(self) -> None:
        """Add every pump's stock to the inventory if missing, as much as its reservoir holds.

        Each new item gets a ``stock_solution`` sample record, so the lineage
        of what the lab makes reaches its stocks.
        """
        names = {item.name for item in self.store.items()}
        for pump, item in self.stocks.items():
            if item in names:
                continue
            left = float(self.dispenser.remaining()[pump])
            with self.store.transaction(self.operator) as tx:
                stock = tx.register_sample("stock_solution", metadata={"pump": pump})
                tx.add_item(item, f"{left} mL", sample_id=stock.sample_id)

    def _after(self, msg: Msg, reply: Any, state: _RunState) -> None:
        if msg.command == "open_run" and reply is not None:
            state.run_uid = str(reply)
            self._record_start(msg, state)
        elif msg.command == "set" and state.sample_id is not None:
            step = state.steps.get(msg.kwargs.get("group"))
            if step is not None and step.dispenses and step.dispenses[-1].status is None:
                pump = getattr(msg.obj, "attr_name", None)
                if pump in self.stocks and step.dispenses[-1].item == self.stocks[pump]:
                    dispense = step.dispenses[-1]
                    dispense.status = reply
                    reply.add_callback(lambda st, d=dispense, s=state: self._dispensed(d, s, st))
        elif msg.command == "wait" and msg.kwargs.get("group") in state.steps:
            self._settle(state.steps.pop(msg.kwargs["group"]), state, completed=True)
        elif msg.command == "close_run" and state.run_uid is not None:
            self._record_end(msg, state)

    def _failed(self, msg: Msg, state: _RunState, error: BaseException) -> None:
        """A message failed: settle its step.

        The dispense of a failed ``set`` got no status. If the error is the
        ``set``'s own, the pump never started. If it came from outside (an
        abort or a failed pause landing just after the RunEngine started the
        pump), the pump may be dispensing: a pump that reports its dispenses
        is left to report it; of one that does not, the LIMS cannot tell, and
        says so in :attr:`problems`.
        """
        group = msg.kwargs.get("group")
        if msg.command not in ("set", "wait") or group not in state.steps:
            return
        step = state.steps.pop(group)
        if msg.command == "set":
            pump = getattr(msg.obj, "attr_name", None)
            item = self.stocks.get(pump) if pump is not None else None
            unstarted = [d for d in step.dispenses if d.status is None and d.item == item]
            from_outside = isinstance(error, _FROM_OUTSIDE)
            for dispense in unstarted:
                if dispense.reporter is not None and from_outside:
                    continue  # the pump reports it if it happened
                step.dispenses.remove(dispense)
                if dispense.reporter is not None:
                    with self._lock:  # the set's own error: the pump never started
                        self._unwatch(dispense)
                elif from_outside:
                    self._problem(
                        f"run {state.run_uid}: {dispense.volume_ml:g} mL of {dispense.item} "
                        f"may have been dispensed ({type(error).__name__} came as the pump "
                        "started); not taken out of stock, check the reservoir",
                        state,
                    )
        self._settle_quietly(step, state)

    # -- stock --------------------------------------------------------------------

    def _watch(self, pump: Any, dispense: _Dispense, state: _RunState) -> None:
        """Follow the pump's ``dispensed`` signal, if it has one, for this dispense."""
        reporter = getattr(pump, "dispensed", None)
        if not isinstance(reporter, Signal):
            return
        dispense.reporter = reporter
        with self._lock:
            self._unreported.setdefault(reporter, []).append((dispense, state, state.number))
            if reporter not in self._subscriptions:
                self._subscriptions[reporter] = reporter.subscribe(
                    self._reported, event_type=reporter.SUB_VALUE, run=False
                )

    def _reported(self, *, obj: Signal, value: Any, **_kwargs: Any) -> None:
        """A pump reports a dispense (on the device's thread): take the oldest one's stock."""
        with self._lock:
            waiting = self._unreported.get(obj, [])
            if not waiting:
                return  # not a dispense of a run of this link
            dispense, state, _ = waiting.pop(0)
            self._forget_if_idle(obj)
            if dispense.settled:
                return
            dispense.settled = True
        self._take(dispense, state, float(value))

    def _forget_if_idle(self, reporter: Signal) -> None:
        """Stop following a pump that has no dispense left to report (under the lock)."""
        if not self._unreported.get(reporter):
            self._unreported.pop(reporter, None)
            token = self._subscriptions.pop(reporter, None)
            if token is not None:
                reporter.unsubscribe(token)

    def _unwatch(self, dispense: _Dispense) -> None:
        """Stop waiting for a dispense's report (under the lock)."""
        reporter = dispense.reporter
        if reporter is not None:
            waiting = self._unreported.get(reporter, [])
            waiting[:] = [entry for entry in waiting if entry[0] is not dispense]
            self._forget_if_idle(reporter)

    def after_run(self, run: Any = None) -> None:
        """The lab has ended a run and cancelled what its devices still held.

        A dispense its pump has not reported by now never happened (an abort
        cancelled it before the pump started, or while it was held): stop
        waiting for it. The lab calls this after every run; with the link as a
        plain RunEngine preprocessor, this happens when the next run opens.
        """
        self._stop_waiting()

    def close(self) -> None:
        """Stop following the pumps (called when the lab closes; the store stays open)."""
        self._stop_waiting()

    def _dispensed(self, dispense: _Dispense, state: _RunState, status: Any) -> None:
        """A pump's dispense ended (on the device's thread): take its stock if it succeeded.

        This runs when the status finishes, whether the step, the run or the
        process goes on or not, so the stock of a dispense that happened is
        taken even if its step fails or the process dies right after. The
        stock of a pump that reports its dispenses is taken by
        :meth:`_reported`; here only its failure is noted.
        """
        with self._lock:
            if dispense.settled:
                return
            if dispense.reporter is not None:
                if status.success:
                    return  # taken when the pump reports it (if not already)
                self._unwatch(dispense)
            dispense.settled = True
        if status.success:
            self._take(dispense, state, dispense.volume_ml)
        else:
            dispense.recorded.set()

    def _take(self, dispense: _Dispense, state: _RunState, volume_ml: float) -> None:
        """Take a dispense that happened out of stock, in a transaction of its own."""
        try:
            with self._low_stock_captured(), self.store.transaction(dispense.operator) as tx:
                tx.consume(
                    dispense.item,
                    f"{volume_ml} mL",
                    sample_id=state.sample_id,
                    run_uid=state.run_uid,
                )
        except Exception as exc:
            dispense.error = exc
            self._problem(
                f"run {state.run_uid}: {volume_ml:g} mL of {dispense.item} dispensed "
                f"but not taken out of stock: {exc}",
                None,
            )
        finally:
            dispense.recorded.set()

    def _settle(self, step: _Step, state: _RunState, completed: bool) -> None:
        """Wait until the step's finished dispenses are in the LIMS; after a whole step, prepare.

        A dispense still in progress (a step that failed part-way) is recorded
        by :meth:`_dispensed` when it ends.

        Raises:
            LimsError: A completed step's stock could not be taken (the LIMS
                had less than the pumps dispensed).
        """
        for dispense in step.dispenses:
            if dispense.status is not None and dispense.status.done:
                if not dispense.recorded.wait(_RECORD_TIMEOUT):
                    dispense.error = LimsError(
                        f"{dispense.volume_ml:g} mL of {dispense.item}: the pump finished but "
                        f"did not report the dispense within {_RECORD_TIMEOUT:g} s; not taken "
                        "out of stock, check the reservoir"
                    )
                    self._problem(f"run {state.run_uid}: {dispense.error}", state)
                if completed and dispense.error is not None:
                    raise dispense.error
        sample_id = state.sample_id
        if not completed or sample_id is None:
            return
        with self.store.transaction(self.operator) as tx:
            if step.dispenses and tx.get_sample(sample_id).state == SampleState.REGISTERED:
                tx.transition(sample_id, SampleState.PREPARED)
            if step.moves_to is not None:
                tx.move(sample_id, step.moves_to)

    def _settle_quietly(self, step: _Step, state: _RunState) -> None:
        """Settle a failed step; a LIMS error must not hide the run's own error."""
        try:
            self._settle(step, state, completed=False)
        except Exception as exc:
            self._problem(f"run {state.run_uid}: a failed step not recorded: {exc}", state)

    @contextlib.contextmanager
    def _low_stock_captured(self) -> Iterator[None]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", LowStockWarning)
            yield
        with self._lock:
            self.low_stock += [str(w.message) for w in caught if w.category is LowStockWarning]

    def _problem(self, message: str, state: _RunState | None) -> None:
        with self._lock:
            self.problems.append(message)
        error = state.last_error if state is not None else None
        if error is not None:
            error.add_note(f"LIMS: {message}")

    # -- the run record -------------------------------------------------------------

    def _record_start(self, msg: Msg, state: _RunState) -> None:
        metadata: dict[str, Any] = {
            "exit_status": None,
            "reason": "",
            "plan_name": msg.kwargs.get("plan_name"),
            "owner": self.owner,
        }
        if self.scope is not None:
            metadata["scope"] = self.scope
        if state.sample_id is not None:
            metadata["sample_id"] = state.sample_id
        self.store.record_run(
            str(state.run_uid),
            state.sample_ids,
            state.campaign_id,
            metadata=metadata,
            operator=self.operator,
        )
        state.recorded = True

    def _record_end(self, msg: Msg, state: _RunState) -> None:
        status = msg.kwargs.get("exit_status") or "success"
        reason = msg.kwargs.get("reason") or ""
        for group in list(state.steps):
            self._settle_quietly(state.steps.pop(group), state)
        try:
            self._finish(state, status, reason)
        except Exception as exc:
            if status == "success" or state.last_error is None:
                raise
            self._problem(f"run {state.run_uid}: its end ({status}) not recorded: {exc}", state)

    def _finish(self, state: _RunState, status: str, reason: str) -> None:
        with self.store.transaction(self.operator) as tx:
            if state.recorded:
                tx.finish_run(str(state.run_uid), status, reason)
            else:  # recording the start failed: record it all now
                tx.record_run(
                    str(state.run_uid),
                    state.sample_ids,
                    state.campaign_id,
                    {"exit_status": status, "reason": reason, "owner": self.owner},
                )
            if state.sample_id is not None:
                sample = tx.get_sample(state.sample_id)
                if status == "success" and sample.state == SampleState.PREPARED:
                    tx.transition(state.sample_id, SampleState.MEASURED)
                elif status != "success" and sample.state not in FINAL_STATES:
                    tx.transition(state.sample_id, SampleState.INVALIDATED)
        state.finished = True

    def _end_run(self, state: _RunState) -> None:
        """The plan is over: settle open steps; record an end the run never sent."""
        for group in list(state.steps):
            self._settle_quietly(state.steps.pop(group), state)
        if state.run_uid is None or state.finished:
            return
        error = state.last_error
        reason = (
            f"{type(error).__name__}: {error}"
            if error
            else "the plan ended without closing its run"
        )
        try:
            self._finish(state, "fail", reason)
        except Exception as exc:
            self._problem(f"run {state.run_uid}: its end not recorded: {exc}", state)


def _start_documents(catalog: Any) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """``(uid, start document)`` of every run in a catalog (none for ``None``)."""
    if catalog is None:
        return
    for uid, run in catalog.items():
        start = run.metadata.get("start")
        if isinstance(start, Mapping):
            yield str(uid), start


def attach_lims(
    lab: Lab,
    store: LimsStore | str | Path,
    stocks: Mapping[str, str] | None = None,
    ensure_stock: bool = True,
) -> LimsLink:
    """Attach a LIMS to ``lab``: its runs make and record samples and take stock.

    Args:
        lab: The lab.
        store: An open store, or a path / URL for :meth:`LimsStore.open`.
        stocks: Dispenser pump -> inventory item (see :class:`LimsLink`).
        ensure_stock: Add missing stock items (see :meth:`LimsLink.ensure_stock`).

    Runs of this lab that a killed process left open in the LIMS are closed
    as failed on the way (:meth:`LimsLink.recover`). A store opened here keeps
    its audit head file beside a SQLite database, or in the lab directory
    (``lims.audit-head``) for a database server.

    Returns:
        The link, also at ``lab.lims``.
    """
    if isinstance(store, LimsStore):
        opened = store
    else:  # a server's database gets its audit head file in the lab directory
        beside = "://" not in str(store) or str(store).startswith("sqlite")
        head_file: Path | bool = True if beside else lab.directory / f"lims{HEAD_FILE_SUFFIX}"
        opened = LimsStore.open(store, operator=lab.operator, head_file=head_file)
    link = LimsLink(opened, lab.devices, lambda: lab.operator, stocks, scope=f"lab:{lab.directory}")
    if ensure_stock:
        link.ensure_stock()
    link.recover()
    lab.attach("lims", link)
    return link


__all__ = ["AUDIT_HEAD_KEY", "DIED_REASON", "MIXTURE", "LimsLink", "attach_lims"]

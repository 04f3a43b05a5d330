"""The lab's LIMS: every recipe run makes a sample, takes its stock, and is recorded.

With a LIMS attached (``Lab.simulated(lims=...)`` or :func:`attach_lims`),
each plan the lab runs passes through :meth:`LimsLink.wrap`, which watches
its messages:

* a run whose start document has a ``recipe`` registers a new ``mixture``
  sample and adds its id to the start document's ``sample_ids``;
* a dispense (a ``set`` of one of the dispenser's pumps) opens a LIMS
  transaction that takes the volume out of stock *before* the pump moves;
  the transaction commits when the step's ``wait`` succeeds and rolls back
  when it fails, so a failed dispense leaves the stock as it was. Stock the
  LIMS does not have fails the step before anything moves;
* a robot move of the run's vial updates the sample's location;
* the stop document records the run in the LIMS with the samples it
  touched, and moves the new sample to ``measured`` (or ``invalidated``
  when the run failed or was aborted).

Low-stock warnings become :attr:`LimsLink.low_stock` messages (shown by
``lab.status()``) instead of warnings raised on the RunEngine's thread.
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from collections.abc import Callable, Generator, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bluesky.utils import Msg

from ..lims import LimsError, LimsStore, LimsTransaction, LowStockWarning

if TYPE_CHECKING:
    from .lab import Lab
    from .run import Run

#: The sample type of what a recipe run makes.
MIXTURE = "mixture"


@dataclass
class _Step:
    """A ``set`` group in flight: its LIMS transaction (if it took stock) and follow-ups."""

    stack: contextlib.ExitStack | None = None
    tx: LimsTransaction | None = None
    moves_to: str | None = None


@dataclass
class _RunState:
    run_uid: str | None = None
    sample_id: str | None = None
    sample_ids: list[str] = field(default_factory=list)
    campaign_id: str | None = None
    steps: dict[Any, _Step] = field(default_factory=dict)


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
        self.low_stock: list[str] = []
        self._lock = threading.Lock()

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
        """For ``lab.status()``: the store and its low-stock messages."""
        with self._lock:
            return {"store": repr(self.store), "low_stock": list(self.low_stock)}

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
                except LimsError as exc:  # e.g. not enough stock: the step never starts
                    error, reply = exc, None
                    continue
                try:
                    reply = yield msg
                except GeneratorExit:
                    generator.close()  # type: ignore[attr-defined]
                    raise
                except BaseException as exc:
                    self._failed(msg, state)
                    error, reply = exc, None
                    continue
                self._after(msg, reply, state)
        finally:
            for step in state.steps.values():
                self._end(step, commit=False)

    def _before(self, msg: Msg, state: _RunState) -> Msg:
        if msg.command == "open_run" and "recipe" in msg.kwargs:
            kwargs = dict(msg.kwargs)
            state.campaign_id = kwargs.get("campaign_id")
            sample = self.store.register_sample(
                MIXTURE,
                parents=self._stock_samples(kwargs["recipe"]),
                metadata={"recipe": kwargs["recipe"]},
                campaign_id=state.campaign_id,
                operator=self.operator,
            )
            state.sample_id = sample.sample_id
            kwargs["sample_ids"] = [*kwargs.get("sample_ids", []), sample.sample_id]
            state.sample_ids = list(kwargs["sample_ids"])
            return msg._replace(kwargs=kwargs)
        if msg.command == "open_run":
            state.campaign_id = msg.kwargs.get("campaign_id")
            state.sample_ids = list(msg.kwargs.get("sample_ids", []))
        elif msg.command == "set" and state.sample_id is not None:
            group = msg.kwargs.get("group")
            pump = getattr(msg.obj, "attr_name", None)
            if getattr(msg.obj, "parent", None) is self.dispenser and pump in self.stocks:
                step = state.steps.setdefault(group, _Step())
                if step.tx is None:
                    step.stack = contextlib.ExitStack()
                    step.tx = step.stack.enter_context(self.store.transaction(self.operator))
                try:
                    step.tx.consume(
                        self.stocks[pump], f"{float(msg.args[0])} mL", sample_id=state.sample_id
                    )
                except BaseException:
                    self._end(state.steps.pop(group), commit=False)
                    raise
            elif msg.obj is self.robot and isinstance(msg.args[0], tuple | list):
                state.steps.setdefault(group, _Step()).moves_to = str(msg.args[0][1])
        return msg

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
        elif msg.command == "wait" and msg.kwargs.get("group") in state.steps:
            step = state.steps.pop(msg.kwargs["group"])
            if step.tx is not None:
                step.tx.transition(str(state.sample_id), "prepared")
            self._end(step, commit=True)
            if step.moves_to is not None and state.sample_id is not None:
                self.store.move(state.sample_id, step.moves_to, operator=self.operator)
        elif msg.command == "close_run" and state.run_uid is not None:
            self._record(msg, state)

    def _failed(self, msg: Msg, state: _RunState) -> None:
        if msg.command == "wait" and msg.kwargs.get("group") in state.steps:
            self._end(state.steps.pop(msg.kwargs["group"]), commit=False)

    def _record(self, msg: Msg, state: _RunState) -> None:
        status = msg.kwargs.get("exit_status") or "success"
        with self.store.transaction(self.operator) as tx:
            tx.record_run(
                str(state.run_uid),
                state.sample_ids,
                state.campaign_id,
                {"exit_status": status, "reason": msg.kwargs.get("reason") or ""},
            )
            if state.sample_id is not None:
                sample = tx.get_sample(state.sample_id)
                if status == "success" and sample.state == "prepared":
                    tx.transition(state.sample_id, "measured")
                elif status != "success":
                    tx.transition(state.sample_id, "invalidated")

    def _end(self, step: _Step, commit: bool) -> None:
        if step.stack is None:
            return
        stack, step.stack = step.stack, None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", LowStockWarning)
            if commit:
                stack.close()
            else:
                stack.__exit__(LimsError, LimsError("step failed: stock rolled back"), None)
        with self._lock:
            self.low_stock += [str(w.message) for w in caught if w.category is LowStockWarning]


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

    Returns:
        The link, also at ``lab.lims``.
    """
    opened = store if isinstance(store, LimsStore) else LimsStore.open(store, operator=lab.operator)
    link = LimsLink(opened, lab.devices, lambda: lab.operator, stocks)
    if ensure_stock:
        link.ensure_stock()
    lab.lims = link
    return link


__all__ = ["MIXTURE", "LimsLink", "attach_lims"]

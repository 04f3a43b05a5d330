"""The Lab: devices, a non-blocking RunEngine, contextual metadata and a durable catalog."""

from __future__ import annotations

import itertools
import logging
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from bluesky import RunEngine
from bluesky._vendor.super_state_machine.errors import TransitionError
from bluesky.log import ComposableLogAdapter
from bluesky.utils import DuringTask, Msg
from ophyd import Device

from ..devices import ResponseModel, SimulatedBench, build_bench
from ..devices.adapters.ophyd_async_configuration import read_configurations_before_runs
from ..lims import LimsStore
from ..storage import DurableCapture, EmbeddedCatalog, ServedCatalog
from ..storage.lock import LabDirectoryLock
from ..storage.run_journal import Durability
from . import context
from .attachments import attachment_factory
from .errors import SessionError, UnknownDeviceError
from .interruptions import InterruptionLog, summarise
from .run import Run
from .step_resume import resume_interrupted_steps
from .worker import RunWorker
from .wrapping import with_context

DocumentCallback = Callable[[str, dict[str, Any]], None]

log = logging.getLogger(__name__)

#: Reason of the pause :meth:`Lab.abort` requests to stop a running plan.
_ABORT_PAUSE = "paused to abort"
#: Seconds :meth:`Lab.abort` waits for the RunEngine to start or pause the run.
_ABORT_TIMEOUT = 30.0
#: The lab's log file in its directory (see :attr:`Lab.log_path`).
LOG_NAME = "lab.log"


class DeviceRegistry(dict[str, Device]):
    """``{name: device}`` that names the devices there are when a name is wrong."""

    def __missing__(self, key: str) -> Device:
        raise UnknownDeviceError(f"no device named {key!r}; devices in this lab: {sorted(self)}")


class Lab:
    """A lab session: devices, plans running in the background, and every run stored.

    Use :meth:`Lab.simulated` for the simulated bench. Plans submitted with
    :meth:`submit` run on a worker thread, so the notebook stays responsive;
    :meth:`pause`, :meth:`resume` and :meth:`abort` control them from any thread.
    Every document is journaled (crash-safe) and shipped to the catalog.

    Args:
        devices: Device name -> ophyd device.
        directory: Folder for the journal and (embedded mode) the catalog.
        catalog_uri: A served tiled server's API address; ``None`` runs one embedded.
        api_key: Key for a served catalog.
        operator: Who runs the experiments (default: ``SMARTLAB_OPERATOR`` or login name).
        seed: The seed the devices were built with, recorded in every run.
        bench: The simulated bench the devices belong to, if any.
        durability: Journal durability (see :class:`~smartlab_kernel.storage.RunJournal`).
        read_only: Open the directory to read its catalog only: no plans run, and
            nothing is recovered or written (another lab may be writing it).

    Raises:
        LabInUseError: If another open lab (in this process or another) writes
            to ``directory``; it names that lab's pid, host and start time.
    """

    def __init__(
        self,
        devices: Mapping[str, Device],
        directory: str | Path = "./lab-data",
        *,
        catalog_uri: str | None = None,
        api_key: str | None = None,
        operator: str | None = None,
        seed: int | None = None,
        bench: SimulatedBench | None = None,
        durability: Durability = "window",
        read_only: bool = False,
    ) -> None:
        self.directory = Path(directory).resolve()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.read_only = bool(read_only)
        # One writer per directory: a second one would recover (close as
        # crashed) this lab's live journals. A crash releases the OS lock.
        self._directory_lock = LabDirectoryLock(self.directory)
        if not self.read_only:
            self._directory_lock.acquire()
        self.devices = DeviceRegistry(devices)
        self.bench = bench
        self.seed = seed
        self.operator = operator or context.default_operator()
        self.md: dict[str, Any] = {}
        #: Called at every run start; each returns readings merged into ``environment``.
        self.snapshot_providers: list[Callable[[], Mapping[str, Any]]] = []
        #: What the layers above are attached by name (``"room"``, ``"lims"``);
        #: see :meth:`attach`.
        self.attachments: dict[str, Any] = {}
        self.session_id = uuid.uuid4().hex[:12]
        try:
            self._catalog: EmbeddedCatalog | ServedCatalog = (
                ServedCatalog(catalog_uri, api_key)
                if catalog_uri
                else EmbeddedCatalog(self.directory / "catalog")
            )
        except BaseException:
            self._directory_lock.release()
            raise
        try:
            self._storage: DurableCapture | None = (
                None
                if self.read_only
                else DurableCapture(
                    self._catalog,
                    self.directory / "journal",
                    durability,
                    on_error=self._storage_failed,
                )
            )
        except BaseException:  # e.g. an unwritable journal folder: leave nothing running
            self._catalog.close()
            self._directory_lock.release()
            raise
        self.engine = RunEngine(
            {}, context_managers=[], during_task=DuringTask(), call_returns_result=True
        )
        #: The lab's log file: what the RunEngine logs (e.g. the traceback of a
        #: failed plan, whose error ``Run.wait`` raises) goes here, not to stderr.
        self.log_path = self.directory / LOG_NAME
        self.logger = _lab_logger(self.session_id, None if self.read_only else self.log_path)
        self.engine.log = ComposableLogAdapter(self.logger, {"RE": self.engine})
        # Dispensing and moving vials cannot be undone, so a pause never rewinds
        # to a checkpoint and replays steps: it holds after the current step.
        # Bluesky would then answer a wait that a pause interrupts at once, so
        # every plan runs through resume_interrupted_steps, which waits again
        # for the held step's remaining time.
        self.engine.rewindable = False
        #: Every pause and suspension (also in each run's ``interruptions`` stream).
        self.interruptions = InterruptionLog()
        self.interruptions.watch(self.engine)
        self.engine.record_interruptions = True
        self.interruptions.on_change(self._route_interruption)
        if self._storage is not None:
            self.engine.subscribe(self._storage)
        self._numbers = itertools.count(1)
        self.runs: list[Run] = []
        self._current_run: Run | None = None
        self.engine.subscribe(self._route_to_run)
        self._worker = RunWorker(self.engine, self._prepare, on_end=self._after_run)
        self._closed = False
        self._storage_error: str | None = None
        self._lock = threading.Lock()
        _close_before_thread_shutdown(self)

    @classmethod
    def simulated(
        cls,
        seed: int = 0,
        directory: str | Path = "./lab-data",
        *,
        time_scale: float = 100.0,
        response: ResponseModel | None = None,
        stocks: Mapping[str, float] | None = None,
        operator: str | None = None,
        durability: Durability = "window",
        device_timeout: float = 30.0,
        room: bool = False,
        lims: bool | str | Path | LimsStore = False,
        read_only: bool = False,
    ) -> Lab:
        """Start a lab on the simulated bench (dispenser, reactor, spectrometer, robot).

        Args:
            seed: Seed of every random draw (same seed, same data).
            directory: Folder for the journal and the embedded catalog.
            time_scale: Simulated seconds per real second.
            response: What the spectrometer measures (default: analytic reaction model).
            stocks: Stock name -> reservoir capacity in mL.
            operator: Who runs the experiments.
            durability: Journal durability.
            device_timeout: Real seconds before a stuck device operation fails.
            room: Also simulate the room (HVAC, fume hoods, lighting, sensors,
                energy) with safety interlocks and an alarm log: ``lab.room``.
            lims: Keep samples and stock in a LIMS (``lab.lims``): ``True`` for
                ``<directory>/lims.sqlite``, or a path, a database URL
                (PostgreSQL too) or an open :class:`~smartlab_kernel.lims.LimsStore`.
                Recipe runs then make samples and take their stock (see
                :mod:`smartlab_kernel.lims_link`).
            read_only: Only read the directory's catalog (another lab may be
                writing it); no plans run. Not with ``room`` or ``lims``.

        Raises:
            LabInUseError: If another open lab writes to ``directory``.
            ValueError: If ``read_only`` is combined with ``room`` or ``lims``.
        """
        if read_only and (room or lims is not False):
            raise ValueError(
                "a read-only lab cannot attach a room or a LIMS (both write); "
                f"got room={room!r}, lims={lims!r}"
            )
        bench = build_bench(
            seed=seed,
            time_scale=time_scale,
            stocks=stocks,
            response=response,
            device_timeout=device_timeout,
        )
        lab = cls(
            bench.devices,
            directory,
            operator=operator,
            seed=seed,
            bench=bench,
            durability=durability,
            read_only=read_only,
        )
        if room:
            attachment_factory("room")(lab, room)
        if lims is not False:
            attachment_factory("lims")(lab, lab.directory / "lims.sqlite" if lims is True else lims)
        return lab

    @classmethod
    def connect(cls, url: str, api_key: str | None = None, **kwargs: Any) -> Any:
        """Connect to a shared lab server (``smartlab serve``) instead of a local lab.

        Returns an object with the same API as a local lab (submit, pause,
        resume, abort, catalog); see :mod:`smartlab_kernel.remote`.
        """
        return attachment_factory("connect")(url, api_key=api_key, **kwargs)

    @classmethod
    def from_bundle(cls, path: str | Path) -> Lab:
        """Open a read-only lab on a published bundle (``smartlab publish``).

        Its catalog holds the bundle's runs; ``submit`` of a recorded plan
        returns the recorded runs, and refuses one that was not recorded,
        naming the nearest recorded run (see :mod:`smartlab_kernel.publish`).

        Raises:
            BundleError: If ``path`` is not a bundle.
            BundleTamperedError: If a file of the bundle differs from its
                manifest, naming the file.
        """
        lab: Lab = attachment_factory("bundle")(path)
        return lab

    # -- running plans --------------------------------------------------------

    def submit(
        self,
        plan: Iterable[Msg],
        *,
        md: Mapping[str, Any] | None = None,
        sample_ids: Iterable[str] | None = None,
        campaign_id: str | None = None,
    ) -> Run:
        """Start ``plan`` on the worker thread and return at once.

        Args:
            plan: A Bluesky plan (generator of messages).
            md: Extra start-document metadata (reserved keys refused).
            sample_ids: Samples the plan touches, recorded in every run it opens.
            campaign_id: Campaign the runs belong to.

        Raises:
            TypeError: If ``plan`` is not a plan, or ``md`` is not a dict of str keys.
            ValueError: If ``md`` sets a reserved key.
            SessionError: If the lab is closed.
        """
        if self._closed:
            raise SessionError("this lab is closed; start a new one with Lab.simulated(...)")
        if self.read_only:
            raise SessionError(
                f"this lab is read-only (opened with read_only=True on {self.directory}): "
                "it can read the catalog but not run plans"
            )
        self._write_held("start a plan")
        if not hasattr(plan, "__iter__") or isinstance(plan, str | bytes | Mapping):
            raise TypeError(
                f"submit() needs a Bluesky plan (a generator of Msg), got {type(plan).__name__}; "
                "call the plan function, e.g. lab.submit(count([det]))"
            )
        user_md = {**context.check_user_md(self.md), **context.check_user_md(md)}
        extra: dict[str, Any] = {}
        if sample_ids is not None:
            ids = list(sample_ids)
            if not all(isinstance(i, str) for i in ids):
                raise TypeError(f"sample_ids must be strings, got {ids!r}")
            extra["sample_ids"] = ids
        if campaign_id is not None:
            extra["campaign_id"] = str(campaign_id)
        name = getattr(plan, "__name__", type(plan).__name__)
        run = Run(name, next(self._numbers))
        run.md = {**user_md, **extra}
        self.runs.append(run)
        self._worker.submit(plan, run)
        return run

    run = submit

    def _prepare(self, plan: Iterable[Msg], run: Run) -> Iterable[Msg]:
        self._current_run = run
        per_run = run.md

        marks: list[int] = []

        def open_md(plan_md: dict[str, Any]) -> dict[str, Any]:
            session_md = self.context()
            context.check_plan_md(plan_md, session_md)
            submitted, own = per_run.get("campaign_id"), plan_md.get("campaign_id")
            if submitted is not None and own is not None and str(own) != submitted:
                raise ValueError(
                    f"submit(campaign_id={submitted!r}) but the plan records its runs under "
                    f"campaign {own!r}; give the id to the plan instead, e.g. "
                    f"campaign(lab, planner, campaign_id={submitted!r})"
                )
            marks.append(self.interruptions.count)
            return {**session_md, **per_run, **plan_md}

        def interrupted() -> str:
            # The pause an abort makes to stop the run is the abort, not an interruption.
            found = self.interruptions.since(marks[-1]) if marks else []
            return summarise([i for i in found if not i.reason.startswith(_ABORT_PAUSE)])

        # ophyd-async devices' configuration is read (awaited) before each run opens.
        plan = read_configurations_before_runs(plan, self.devices)
        wrapped = with_context(plan, open_md, lambda: run.reason, interrupted)
        for attachment in self.attachments.values():
            wrap = getattr(attachment, "wrap", None)
            if wrap is not None:  # e.g. the LIMS link, which follows every dispense
                wrapped = wrap(wrapped, run)
        # Outermost, so the LIMS and the plan see a held step end only when it has.
        return resume_interrupted_steps(wrapped, self.interruptions)

    def _route_interruption(self, interruption: Any) -> None:
        run = self._worker.current
        if run is not None:
            run._interrupted(interruption)

    def _after_run(self, run: Run) -> None:
        if run.state in ("failed", "aborted"):
            # Operations the RunEngine held when it stopped (a move, a dispense)
            # must not carry on later: cancel them.
            for device in self.devices.values():
                discard = getattr(device, "discard_pending", None)
                if discard is not None:
                    discard(f"run #{run.number} {run.state}")
        for name, attachment in list(self.attachments.items()):
            after_run = getattr(attachment, "after_run", None)
            if after_run is not None:  # e.g. the LIMS stops waiting for cancelled dispenses
                try:
                    after_run(run)
                except Exception:
                    log.exception("the %s attachment failed after run #%s", name, run.number)

    def context(self) -> dict[str, Any]:
        """The contextual metadata a run started now would carry."""
        md: dict[str, Any] = {
            "operator": self.operator,
            "devices": context.device_configuration(self.devices),
            "environment": self.environment_snapshot(),
            "versions": context.package_versions(),
            "lab_directory": str(self.directory),
            "lab_session": self.session_id,
        }
        if self.seed is not None:
            md["seed"] = self.seed
        if self.bench is not None:
            md["bench"] = self.bench.settings
        notebook = context.notebook_path()
        if notebook:
            md["notebook"] = notebook
        commit = context.git_commit(context.working_directory())
        if commit:
            md["git_commit"] = commit
        return md

    def environment_snapshot(self) -> dict[str, Any]:
        """Readings of the room and bench conditions now."""
        snapshot: dict[str, Any] = {"time": time.time()}
        if self.bench is not None:
            snapshot["simulated_time_s"] = self.bench.world.clock.now()
            reactor = self.devices.get("reactor")
            if reactor is not None:
                try:
                    snapshot["reactor_temperature_c"] = float(reactor.temperature.get())
                except Exception as exc:
                    snapshot["reactor_temperature_c"] = f"unreadable: {exc}"
        for provider in self.snapshot_providers:
            try:
                snapshot.update(provider())
            except Exception as exc:  # a broken sensor must not stop a run from starting
                snapshot[f"error:{getattr(provider, '__name__', 'provider')}"] = str(exc)
        return snapshot

    def attach(self, name: str, attachment: Any) -> None:
        """Attach what a layer above the core provides (a room, a LIMS) under ``name``.

        Its ``wrap(plan, run)``, if any, wraps every plan the lab runs; its
        ``status()`` is in :meth:`status` under ``name``; its ``close()`` is
        called when the lab closes (see :mod:`smartlab_kernel.session.attachments`).
        It replaces what was attached under ``name`` before (e.g. a LIMS link
        to another database).
        """
        self.attachments[name] = attachment

    @property
    def room(self) -> Any:
        """The room (environment, safety, alarms), when attached (a ``RoomLink``), else ``None``."""
        return self.attachments.get("room")

    @room.setter
    def room(self, room: Any) -> None:
        self._set_attachment("room", room)

    @property
    def lims(self) -> Any:
        """The LIMS link (samples, stock), when attached (a ``LimsLink``), else ``None``.

        ``lab.lims = None`` detaches it.
        """
        return self.attachments.get("lims")

    @lims.setter
    def lims(self, link: Any) -> None:
        self._set_attachment("lims", link)

    def _set_attachment(self, name: str, attachment: Any) -> None:
        if attachment is None:
            self.attachments.pop(name, None)
        else:
            self.attach(name, attachment)

    def add_device(self, name: str, device: Device) -> None:
        """Add a device to the lab (its configuration is then recorded in every run).

        Raises:
            ValueError: If the name is taken.
        """
        if name in self.devices:
            raise ValueError(
                f"a device named {name!r} exists already; devices: {sorted(self.devices)}"
            )
        self.devices[name] = device

    def _route_to_run(self, name: str, doc: dict[str, Any]) -> None:
        run = self._current_run
        if run is not None:
            run._document(name, doc)

    # -- control --------------------------------------------------------------

    @property
    def current(self) -> Run | None:
        """The run on the worker now (running or paused), if any."""
        return self._worker.current

    @property
    def state(self) -> str:
        """The RunEngine's state: ``"idle"``, ``"running"``, ``"paused"``, ..."""
        return str(self.engine.state)

    def pause(self, defer: bool = False, reason: str = "paused by the operator") -> None:
        """Pause the running plan (at once, or at its next checkpoint with ``defer=True``).

        A step in progress (a hold, a move, a dispense, an acquisition) is held
        and, after :meth:`resume`, carries on for its remaining time; the pause
        is recorded in the run (its ``interruptions`` stream, and the stop
        document's ``reason``).

        Args:
            defer: Pause at the plan's next checkpoint instead of at once.
            reason: Why, recorded with the interruption.

        Raises:
            SessionError: If no plan is running.
        """
        if self.engine.state != "running":
            raise SessionError(f"nothing to pause: the RunEngine is {self.engine.state}")
        self.interruptions.set_pause_reason(str(reason))
        self.engine.request_pause(defer=defer)

    def resume(self) -> None:
        """Resume the paused plan.

        Documents held in memory because the journal could not be written (a
        full disk) are written first.

        Raises:
            SessionError: If no plan is paused, or the held documents still
                cannot be written (the plan stays paused, nothing is lost).
        """
        self._write_held("resume")
        self._worker.command("resume")

    def _storage_failed(self, error: Exception) -> None:
        """A document could not be journaled (it is held in memory): pause the run.

        Called on the RunEngine's thread, inside its event loop, so the pause
        is requested from another thread.
        """
        self._storage_error = str(error)

        def pause() -> None:
            try:
                if self.engine.state == "running":
                    self.interruptions.set_pause_reason(f"journal cannot be written: {error}")
                    self.engine.request_pause(defer=False)
            except TransitionError:
                pass  # the run ended meanwhile; its held documents wait for retry

        threading.Thread(target=pause, name="smartlab-storage-pause", daemon=True).start()

    def _write_held(self, action: str) -> None:
        if self._storage is None:
            return
        journal = self._storage.journal
        if not journal.held:
            return
        try:
            journal.retry_held()
        except Exception as exc:
            raise SessionError(
                f"cannot {action}: {journal.held} documents of the run are held in memory "
                f"because the journal in {journal.pending_dir} cannot be written ({exc}). "
                "Free disk space, then try again; nothing recorded is lost while this "
                "process runs."
            ) from exc
        self._storage_error = None

    def abort(self, reason: str = "aborted by the operator") -> None:
        """Abort the running or paused plan and drop queued ones.

        The aborted runs end with ``exit_status="abort"`` and ``reason``.
        """
        for run in self.runs:
            if run.state == "queued":
                run._set_state("aborted", reason)
        current = self._worker.current
        if current is None or current.done:
            return
        self._worker._commands.put(("abort", reason))
        # The worker takes the command when the plan is paused: interrupt it.
        # The run is marked running a moment before the RunEngine starts it
        # (and again before a resume takes effect), and the engine's state
        # can change between looking and asking, so keep asking until the
        # worker waits for a command or the run has ended.
        deadline = time.monotonic() + _ABORT_TIMEOUT
        while not current.done and not self._worker.awaiting_command.is_set():
            if self.engine.state == "running":
                try:
                    self.interruptions.set_pause_reason(f"{_ABORT_PAUSE}: {reason}")
                    self.engine.request_pause(defer=False)
                except TransitionError:
                    pass  # it changed state meanwhile: look again
                else:
                    return
            if time.monotonic() > deadline:
                raise SessionError(
                    f"could not abort run #{current.number}: the RunEngine stayed "
                    f"{self.engine.state!r} for {_ABORT_TIMEOUT:.0f} s"
                )
            time.sleep(0.005)

    def subscribe(self, callback: DocumentCallback) -> int:
        """Call ``callback(name, doc)`` for every document (on the RunEngine's thread)."""
        return int(self.engine.subscribe(callback))

    def unsubscribe(self, token: int) -> None:
        """Undo :meth:`subscribe`."""
        self.engine.unsubscribe(token)

    def wait(self, timeout: float | None = None) -> None:
        """Block until every submitted plan has ended and its data is in the catalog."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for run in list(self.runs):
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            run._done.wait(remaining)
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        if self._storage is not None and not self._storage.wait_shipped(remaining):
            raise TimeoutError(f"{self._storage.backlog} documents still not in the catalog")

    # -- data -----------------------------------------------------------------

    @property
    def catalog(self) -> Any:
        """The tiled catalog of every stored run (a ``CatalogOfBlueskyRuns`` node)."""
        return self._catalog.runs

    @property
    def storage(self) -> DurableCapture:
        """The journal and its shipper to the catalog.

        Raises:
            SessionError: If the lab is read-only (it writes nothing).
        """
        if self._storage is None:
            raise SessionError(
                f"this lab is read-only (opened with read_only=True on {self.directory}): "
                "it has no journal"
            )
        return self._storage

    @property
    def recovering(self) -> int:
        """Runs of an earlier, crashed session still being recovered into the catalog.

        Until it is 0, such a run may show in :attr:`catalog` without its stop
        document; :meth:`wait` blocks until recovery is done.
        """
        return self._storage.recovering if self._storage is not None else 0

    def status(self) -> dict[str, Any]:
        """A summary for ``%lab``: devices, run state, storage backlog, recovery reports."""
        current = self._worker.current
        storage = self._storage
        return {
            "devices": sorted(self.devices),
            "state": self.state,
            "current": repr(current) if current else None,
            "queued": sum(r.state == "queued" for r in self.runs),
            "read_only": self.read_only,
            "storage_backlog": storage.backlog if storage else 0,
            "storage_held": storage.journal.held if storage else 0,
            "storage_error": self._storage_error
            or (storage.shipper.last_error if storage else None),
            "recovering": self.recovering,
            "recovery": list(storage.reports) if storage else [],
            "directory": str(self.directory),
            **{
                name: attachment.status()
                for name, attachment in self.attachments.items()
                if callable(getattr(attachment, "status", None))
            },
        }

    def close(self, timeout: float = 30.0) -> None:
        """Abort what runs, ship what is pending, and stop the catalog (idempotent)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        for attachment in list(self.attachments.values()):
            close = getattr(attachment, "close", None)
            if close is not None:
                close()
        self.abort("lab closed")
        self._worker.close()
        lost: SessionError | None = None
        try:
            self._write_held("close the lab")
        except SessionError as exc:
            lost = exc
        try:
            if self._storage is not None:
                self._storage.close(timeout)
            self._catalog.close()
        finally:
            self._directory_lock.release()
            for handler in list(self.logger.handlers):  # what it logs now goes nowhere
                self.logger.removeHandler(handler)
                handler.close()
            self.logger.addHandler(logging.NullHandler())
        if lost is not None:
            raise SessionError(
                f"the lab is closed, but {lost} Documents not written are lost "
                "when this process ends."
            ) from lost

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _lab_logger(session_id: str, path: Path | None) -> logging.Logger:
    """The logger of one lab: it writes to ``path`` (nowhere if ``None``), never to stderr."""
    logger = logging.getLogger(f"{__name__}.{session_id}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    handler: logging.Handler = (
        logging.NullHandler() if path is None else logging.FileHandler(path, delay=True)
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    return logger


def _close_before_thread_shutdown(lab: Lab) -> None:
    """Close ``lab`` when the interpreter exits, even if the user never did.

    The embedded tiled server runs on a non-daemon thread, and Python joins
    those before ``atexit`` handlers run, so an ``atexit`` handler would wait
    forever. ``threading``'s own exit hook runs first (it is how
    ``concurrent.futures`` shuts its workers down).
    """
    ref = weakref.ref(lab)

    def close() -> None:
        found = ref()
        if found is not None:
            found.close()

    threading._register_atexit(close)  # type: ignore[attr-defined]

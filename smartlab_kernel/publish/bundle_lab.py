"""``Lab.from_bundle``: a read-only lab whose catalog is a published bundle's runs.

The bundle is checked against its manifest, its documents are loaded into
a catalog of their own (an embedded tiled server on a temporary folder,
removed on close), and its devices are a simulated bench built from the
recorded settings (so plans can name them; nothing ever moves them).
:meth:`BundleLab.submit` replays a plan against the recorded runs (see
:mod:`~smartlab_kernel.publish.recorded_plans`), and while the lab is open
new planners take the bundle's campaign ids in order
(:mod:`~smartlab_kernel.planner.campaign_ids`), as the recorded notebook's
planners had them.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from bluesky.utils import Msg

from ..devices import build_bench, response_from_settings
from ..planner.campaign_ids import hand_out_recorded, stop_handing_out
from ..session import Lab
from ..session.errors import SessionError
from ..session.run import Run
from ..storage import RunSink
from .bundle import Bundle
from .errors import NotRecordedError
from .recorded_plans import Recording, replay_plan


class NothingToShip:
    """The storage of a bundle's lab: every run is in the catalog already, none is written."""

    backlog = 0
    recovering = 0

    def wait_shipped(self, timeout: float | None = None) -> bool:
        """Return at once: nothing is waiting to be shipped."""
        return True

    def wait_run_shipped(self, uid: str, timeout: float | None = None) -> bool:
        """Return at once: every recorded run is in the catalog."""
        return True


class BundleLab(Lab):
    """A read-only lab on a published bundle (see the module docstring).

    Args:
        bundle: The bundle's folder (or an open :class:`Bundle`).

    Raises:
        BundleError: If it is not a bundle.
        BundleTamperedError: If a file differs from the manifest, naming it.
    """

    def __init__(self, bundle: str | Path | Bundle) -> None:
        self.bundle = bundle if isinstance(bundle, Bundle) else Bundle(bundle)
        recorded_lab = self.bundle.lab
        settings = dict(recorded_lab.get("bench") or {})
        response = None
        if settings.get("response_settings"):
            response = response_from_settings(settings["response_settings"])
        bench = build_bench(
            seed=int(settings.get("seed", recorded_lab.get("seed") or 0)),
            time_scale=float(settings.get("time_scale", 100.0)),
            stocks=settings.get("stocks"),
            response=response,
            spectrum_points=int(settings.get("spectrum_points", 200)),
        )
        self._scratch = Path(tempfile.mkdtemp(prefix="smartlab-replay-"))
        try:
            super().__init__(
                bench.devices,
                self._scratch,
                operator=recorded_lab.get("operator"),
                seed=recorded_lab.get("seed"),
                bench=bench,
                read_only=True,
            )
        except BaseException:
            shutil.rmtree(self._scratch, ignore_errors=True)
            raise
        try:
            self._load_runs()
        except BaseException:
            self.close()
            raise
        self.recording = Recording(self.bundle.runs, f"bundle {self.bundle.path}")
        self._replaying: Run | None = None
        hand_out_recorded(self.bundle.campaigns)

    def _load_runs(self) -> None:
        """Write every recorded run's documents into this lab's catalog."""
        container = self._catalog.runs
        for recorded in self.bundle.runs:
            sink = RunSink(container)
            for name, doc in self.bundle.documents(recorded.uid):
                sink(name, doc)

    # -- replaying ------------------------------------------------------------

    def submit(
        self,
        plan: Iterable[Msg],
        *,
        md: Mapping[str, Any] | None = None,
        sample_ids: Iterable[str] | None = None,
        campaign_id: str | None = None,
    ) -> Run:
        """Replay ``plan`` against the recorded runs; return its (finished) run.

        Each run the plan opens gets the recorded run of the same plan name and
        arguments (its data is in :attr:`catalog`); the plan runs to its end
        before this returns.

        Raises:
            NotRecordedError: If the plan opens a run the bundle does not hold,
                naming the nearest recorded run.
            TypeError: If ``plan`` is not a plan.
            SessionError: If the lab is closed.
        """
        if self._closed:
            raise SessionError(f"this replay of {self.bundle.path} is closed")
        if not hasattr(plan, "__iter__") or isinstance(plan, str | bytes | Mapping):
            raise TypeError(
                f"submit() needs a Bluesky plan (a generator of Msg), got {type(plan).__name__}"
            )
        run = Run(getattr(plan, "__name__", type(plan).__name__), next(self._numbers))
        run.md = {**self.md, **dict(md or {})}
        if sample_ids is not None:
            run.md["sample_ids"] = list(sample_ids)
        if campaign_id is not None:
            run.md["campaign_id"] = str(campaign_id)
        self.runs.append(run)
        self._replaying = run
        run._set_state("running")
        try:
            run.result = replay_plan(
                plan, self.recording, run.md, lambda start: run._document("start", start)
            )
        except NotRecordedError as exc:
            run.error = exc
            run._set_state("failed", str(exc))
            raise
        except Exception as exc:  # the plan's own error: Run.wait raises it, as on a lab
            run.error = exc
            run._set_state("failed", f"{type(exc).__name__}: {exc}")
        else:
            run._set_state("finished")
        finally:
            self._replaying = None
        return run

    run = submit

    @property
    def current(self) -> Run | None:
        """The run being replayed now, if any."""
        return self._replaying

    @property
    def storage(self) -> Any:
        """Nothing to ship: the bundle's runs are all in the catalog (:class:`NothingToShip`)."""
        return NothingToShip()

    def rewind(self) -> None:
        """Replay from the top again: recorded runs and campaign ids are handed out anew."""
        self.recording.rewind()
        hand_out_recorded(self.bundle.campaigns)

    def describe(self) -> str:
        """One line on what this lab is, for ``%lab open``."""
        bench = self.bench.settings if self.bench is not None else {}
        return (
            f"lab: replay of bundle {self.bundle.path.name} (read-only: "
            f"{len(self.bundle.runs)} recorded runs), simulated bench, seed {self.seed}, "
            f"{bench.get('time_scale', 0):g} simulated s per s as recorded"
        )

    def status(self) -> dict[str, Any]:
        """The lab's status, with the bundle it replays."""
        return {**super().status(), "replay": str(self.bundle.path)}

    def close(self, timeout: float = 30.0) -> None:
        """Stop the catalog and remove its temporary folder (idempotent)."""
        try:
            super().close(timeout)
        finally:
            stop_handing_out()
            shutil.rmtree(self._scratch, ignore_errors=True)

    def __repr__(self) -> str:
        return f"<BundleLab {self.bundle.path}>"


def open_bundle(path: str | Path) -> BundleLab:
    """Open a read-only lab on the bundle in ``path`` (what ``Lab.from_bundle`` calls)."""
    return BundleLab(path)


__all__ = ["BundleLab", "NothingToShip", "open_bundle"]

"""The RE Manager's startup profile: the simulated bench, the queue's plans, durable capture.

The queueserver imports this module in its worker process
(``start-re-manager --startup-module smartlab_kernel.serve.profile``) and
offers every plan and device in its namespace. Settings come from the
environment that :class:`~smartlab_kernel.serve.LabServer` gives the RE
Manager (see :data:`ENV_PREFIX`). Every document goes through
:class:`~smartlab_kernel.storage.DurableCapture`: journaled to disk first,
then shipped to the served tiled, so a killed worker loses nothing it had
recorded; the next worker recovers the journal and closes the run as failed.
Each run's ``operator`` is the queue item's authenticated user
(:class:`~smartlab_kernel.serve.queue_engine.QueueRunEngine`). The lab's room
runs here too, its interlocks on this RunEngine, served to notebooks through
Redis (:class:`~smartlab_kernel.serve.room_service.RoomService`). With a
``[lims]`` URL configured, every plan passes through a
:class:`~smartlab_kernel.lims_link.link.LimsLink` (a RunEngine
preprocessor): recipe runs make samples and take their stock in the shared
LIMS, under the queue item's user.
"""

import os
from pathlib import Path

from smartlab_kernel.devices import build_bench
from smartlab_kernel.devices.room import build_room
from smartlab_kernel.lims import LimsStore
from smartlab_kernel.lims_link.link import LimsLink
from smartlab_kernel.management.alarms import AlarmLog
from smartlab_kernel.serve.queue_engine import UNKNOWN_OPERATOR, QueueRunEngine, queue_item_user
from smartlab_kernel.serve.queue_plans import make_queue_plans
from smartlab_kernel.serve.room_service import RoomService
from smartlab_kernel.serve.service_files import PROVIDER, SERVICE_USER, SHIPPING_LANES
from smartlab_kernel.session import interruptions as _interruptions
from smartlab_kernel.session import step_resume as _step_resume
from smartlab_kernel.storage import DurableCapture, ServedCatalog, TiledLogin

ENV_PREFIX = "SMARTLAB_SERVE_"


def _env(name: str) -> str:
    value = os.environ.get(ENV_PREFIX + name)
    if value is None:
        raise RuntimeError(
            f"{ENV_PREFIX}{name} is not set: this profile is started by `smartlab serve`"
        )
    return value


_seed = int(_env("SEED"))
_stock_ml = float(_env("STOCK_ML"))
bench = build_bench(
    seed=_seed,
    time_scale=float(_env("TIME_SCALE")),
    stocks={"a": _stock_ml, "b": _stock_ml, "solvent": _stock_ml},
)
dispenser = bench.devices["dispenser"]
reactor = bench.devices["reactor"]
spectrometer = bench.devices["spectrometer"]
robot = bench.devices["robot"]

# The service logs in (a token tiled checks without its database, see
# storage/tiled_login.py) rather than sending a key with every request.
# Runs are shipped in SHIPPING_LANES threads side by side: after a class's
# burst the catalog is otherwise one run's round trips at a time behind.
capture = DurableCapture(
    ServedCatalog(
        _env("CATALOG_URI"),
        login=TiledLogin(PROVIDER, SERVICE_USER, _env("SERVICE_PASSWORD")),
    ),
    _env("JOURNAL_DIR"),
    lanes=SHIPPING_LANES,
)
RE = QueueRunEngine({"bench": bench.settings, "seed": _seed, "lab_server": _env("NAME")})
RE.subscribe(capture)

globals().update(make_queue_plans(bench))

room = build_room(bench.world)
room_service = RoomService(
    RE,
    room,
    AlarmLog(_env("ALARM_LOG")),
    _env("REDIS_ADDRESS"),
    _env("REDIS_PREFIX"),
).start()
RE.environment = room_service.snapshot

lims: LimsLink | None = None
if _env("LIMS_URL"):
    lims = LimsLink(
        LimsStore.open(
            _env("LIMS_URL"),
            schema=_env("LIMS_SCHEMA") or None,
            operator="lab-server",
            # the audit chain's head, anchored outside the database
            head_file=Path(_env("JOURNAL_DIR")).parent / "lims.audit-head",
        ),
        bench.devices,
        lambda: queue_item_user() or UNKNOWN_OPERATOR,
        scope=f"server:{_env('NAME')}",
    )
    lims.ensure_stock()
    lims.recover()  # runs a killed worker left open are closed as failed
    RE.preprocessors.append(lims.wrap)

# A dispense cannot be undone, so a pause must never replay steps from a
# checkpoint (bluesky's default); a step a pause or an interlock interrupts
# is held and waited for again instead (docs/explanation/interruptions.md).
# Appended last, so it is the outermost preprocessor: the LIMS sees a held
# step end only when it has.
RE.rewindable = False
# (modules, not their functions, are imported: the queue server offers every
# generator function of this namespace to students as a plan)
_held_steps = _interruptions.InterruptionLog()
_held_steps.watch(RE)
RE.preprocessors.append(lambda plan: _step_resume.resume_interrupted_steps(plan, _held_steps))

"""What really happened on the simulated bench, noted as each run records it.

A :class:`TruthRecorder` subscribed to a lab notes, for every
``measure_recipe`` run, its recipe, every primary event the RunEngine
emitted, and the state of the vial at the moment its reading was recorded
(how long it reacted, at what temperature, what was dispensed into it).
The fault campaign compares the catalog against these notes: a run stored
as a success must have met its recipe, and every event emitted must be
stored. The notes can also go, one JSON line each, to a file that survives
a ``kill -9`` of the process that wrote them.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MEASURE_PLAN = "measure_recipe"


@dataclass
class RunTruth:
    """What one ``measure_recipe`` run did on the bench.

    Attributes:
        uid: The run's start uid.
        recipe: The recipe of its start document.
        suggestion_id: The campaign suggestion it ran, if any.
        campaign_id: The campaign it belongs to, if any.
        events: Primary-stream events the RunEngine emitted.
        vial: The vial at the spectrometer when the reading was recorded
            (``hold_s``, ``temperature_c``, ``volumes_ml``), or ``None``.
    """

    uid: str
    recipe: dict[str, Any]
    suggestion_id: str | None = None
    campaign_id: str | None = None
    events: int = 0
    vial: dict[str, Any] | None = None


@dataclass(eq=False)
class TruthRecorder:
    """A document subscriber that notes each recipe run's true course (see the module).

    Args:
        bench_world: The bench's :class:`~smartlab_kernel.devices.world.BenchWorld`.
        path: Optional file the notes are appended to, one JSON line each.
    """

    bench_world: Any
    path: Path | None = None
    runs: dict[str, RunTruth] = field(default_factory=dict)
    _primary: dict[str, str] = field(default_factory=dict)
    _fd: int | None = None

    def __post_init__(self) -> None:
        if self.path is not None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    def __call__(self, name: str, doc: dict[str, Any]) -> None:
        """Note one document (subscribe after the lab's journal)."""
        if name == "start" and doc.get("plan_name") == MEASURE_PLAN:
            suggestion = doc.get("suggestion") or {}
            truth = RunTruth(
                str(doc["uid"]),
                dict(doc.get("recipe") or {}),
                suggestion.get("id"),
                doc.get("campaign_id"),
            )
            self.runs[truth.uid] = truth
            self._write(
                {
                    "start": truth.uid,
                    "recipe": truth.recipe,
                    "suggestion": truth.suggestion_id,
                    "campaign": truth.campaign_id,
                }
            )
        elif name == "descriptor" and doc.get("name") == "primary":
            if doc.get("run_start") in self.runs:
                self._primary[str(doc["uid"])] = str(doc["run_start"])
        elif name == "event" and doc.get("descriptor") in self._primary:
            truth = self.runs[self._primary[doc["descriptor"]]]
            truth.events += 1
            vial = self.bench_world.vial_at("spectrometer")
            if vial is not None:
                truth.vial = {
                    "hold_s": vial.hold_s,
                    "temperature_c": vial.temperature_c,
                    "volumes_ml": dict(vial.volumes_ml),
                }
            self._write({"event": truth.uid, "vial": truth.vial})

    def _write(self, note: dict[str, Any]) -> None:
        if self._fd is not None:
            os.write(self._fd, (json.dumps(note) + "\n").encode())

    def close(self) -> None:
        """Close the notes file."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def read_truth(path: str | Path) -> dict[str, RunTruth]:
    """Read the notes a killed process's :class:`TruthRecorder` left in ``path``."""
    runs: dict[str, RunTruth] = {}
    file = Path(path)
    if not file.exists():
        return runs
    for line in file.read_text().splitlines():
        try:
            note = json.loads(line)
        except ValueError:
            continue  # a line cut by the kill: its event was not noted as emitted
        if "start" in note:
            runs[note["start"]] = RunTruth(
                note["start"], note["recipe"], note.get("suggestion"), note.get("campaign")
            )
        elif "event" in note and note["event"] in runs:
            runs[note["event"]].events += 1
            runs[note["event"]].vial = note.get("vial")
    return runs


def recipe_problems(truth: RunTruth, temperature_tolerance: float = 0.6) -> list[str]:
    """How a run's bench course differs from its recipe (empty when it met it)."""
    recipe = truth.recipe
    vial = truth.vial
    if vial is None:
        return ["no vial was at the spectrometer when its reading was recorded"]
    problems = []
    hold = float(recipe.get("hold_s", 0.0))
    if abs(float(vial["hold_s"]) - hold) > 1e-6 * max(1.0, hold):
        problems.append(f"reacted {vial['hold_s']:.6g} s of a {hold:.6g} s hold")
    if hold > 0:
        target = float(recipe.get("temperature_c", 25.0))
        if abs(float(vial["temperature_c"]) - target) > temperature_tolerance:
            problems.append(f"reacted at {vial['temperature_c']:.4g} degC, recipe {target:.4g}")
    wanted = {k: float(v) for k, v in (recipe.get("volumes_ml") or {}).items() if float(v) > 0}
    got = {k: float(v) for k, v in vial["volumes_ml"].items() if float(v) > 0}
    if set(wanted) != set(got) or any(abs(got[k] - wanted[k]) > 1e-9 for k in wanted):
        problems.append(f"dispensed {got} mL, recipe {wanted} mL")
    return problems

"""The volumes PyLabRobot tracks on a deck, as a Bluesky readable: one reading per labware."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from pylabrobot.resources import Container, Deck, Resource

#: Where the readings come from, in every data key.
SOURCE = "PyLabRobot volume tracker"


def _tracked(container: Container) -> float:
    tracker = getattr(container, "tracker", None)
    if tracker is None or tracker.is_disabled:
        return float("nan")
    return float(tracker.get_used_volume())


def _key_part(name: str) -> str:
    return re.sub(r"\W+", "_", name).strip("_") or "resource"


class WellVolumes:
    """Volumes in every plate and container on a deck, read like an ophyd device.

    ``bps.trigger_and_read([handler.volumes])`` records, for each plate, a
    ``rows x columns`` array of the uL PyLabRobot tracks in its wells (NaN
    where volumes are not tracked), and for each other container (trough,
    tube; not the trash) a number. Data keys are ``<name>_<labware>``, e.g.
    ``handler_volumes_plate``. The deck is looked at on every read, so labware
    placed later is included (in a new stream or run: a stream's keys are fixed
    by its first read).

    Args:
        name: Prefix of the data keys.
        deck: The liquid handler's deck.
    """

    def __init__(self, name: str, deck: Deck) -> None:
        self.name = name
        self.deck = deck
        self.parent: Any = None

    def _labware(self) -> dict[str, Resource]:
        from pylabrobot.resources import Container, Plate, Trash

        found: dict[str, Resource] = {}
        for resource in self.deck.get_all_children():
            holds_liquid = isinstance(resource, Container) and not isinstance(resource, Trash)
            in_plate = isinstance(resource.parent, Plate)
            if isinstance(resource, Plate) or (holds_liquid and not in_plate):
                found[f"{self.name}_{_key_part(resource.name)}"] = resource
        return found

    @staticmethod
    def _volumes(resource: Resource) -> float | np.ndarray:
        from pylabrobot.resources import Plate

        if isinstance(resource, Plate):
            rows, columns = resource.num_items_y, resource.num_items_x
            values = np.full((rows, columns), np.nan)
            for column in range(columns):
                for row in range(rows):
                    values[row, column] = _tracked(resource.get_item((row, column)))
            return values
        return _tracked(resource)

    def describe(self) -> dict[str, dict[str, Any]]:
        """Data keys: one per labware, in uL."""
        described = {}
        for key, resource in self._labware().items():
            value = self._volumes(resource)
            shape = list(np.shape(value))
            described[key] = {
                "source": f"{SOURCE}: {resource.name}",
                "dtype": "array" if shape else "number",
                "dtype_numpy": "<f8",
                "shape": shape,
                "units": "uL",
            }
        return described

    def read(self) -> dict[str, dict[str, Any]]:
        """The volume in every well and container now."""
        now = time.time()
        return {
            key: {"value": self._volumes(resource), "timestamp": now}
            for key, resource in self._labware().items()
        }

    def volume(self, container: Container) -> float:
        """The volume PyLabRobot tracks in one well or container (NaN when not tracked)."""
        return _tracked(container)

    def describe_configuration(self) -> dict[str, dict[str, Any]]:
        """No configuration: the labware is in the data keys' ``source``."""
        return {}

    def read_configuration(self) -> dict[str, dict[str, Any]]:
        """No configuration."""
        return {}

    @property
    def hints(self) -> dict[str, list[str]]:
        """No field is plotted by default (arrays)."""
        return {"fields": []}

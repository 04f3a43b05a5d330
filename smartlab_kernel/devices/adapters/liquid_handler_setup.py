"""Build a PyLabRobot liquid handler, its deck and labware from plain settings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pylabrobot.resources as plr_resources
from pylabrobot.liquid_handling import LiquidHandler
from pylabrobot.resources import Deck, TipRack
from pylabrobot.resources.volume_tracker import set_volume_tracking

from .liquid_handler import LiquidHandlerDevice
from .liquid_handler_backends import make_backend

DECKS = ("STARLetDeck", "STARDeck", "OTDeck")


def _make_deck(deck: str) -> Deck:
    if deck not in DECKS:
        raise ValueError(f"deck {deck!r} is not supported; allowed: {list(DECKS)}")
    made: Deck = getattr(plr_resources, deck)()
    return made


def _place(deck: Deck, item: Mapping[str, Any]) -> Any:
    factory = getattr(plr_resources, str(item["type"]), None)
    if not callable(factory):
        raise ValueError(
            f"resources: labware type {item['type']!r} is not a resource definition in "
            "pylabrobot.resources (e.g. 'cor_96_wellplate_360uL_Fb', "
            "'hamilton_96_tiprack_1000uL_filter')"
        )
    resource = factory(name=str(item["name"]))
    if "slot" in item:
        if not hasattr(deck, "assign_child_at_slot"):
            raise ValueError(
                f"resources: {item['name']!r} gives a 'slot' but deck {type(deck).__name__} "
                "places labware on 'rails'"
            )
        deck.assign_child_at_slot(resource, int(item["slot"]))
    else:
        try:
            deck.assign_child_resource(resource, rails=int(item["rails"]))
        except TypeError:
            raise ValueError(
                f"resources: {item['name']!r} gives 'rails' but deck {type(deck).__name__} "
                "places labware in a 'slot'"
            ) from None
    return resource


def build_liquid_handler(
    name: str,
    *,
    backend: str = "chatterbox",
    backend_options: Mapping[str, Any] | None = None,
    num_channels: int = 1,
    deck: str = "STARLetDeck",
    resources: Sequence[Mapping[str, Any]] = (),
    tip_rack: str = "",
    liquids: Mapping[str, float] | None = None,
    volume_tracking: bool = True,
    new_tip_per_transfer: bool = True,
    step_timeout: float = 120.0,
) -> LiquidHandlerDevice:
    """Build a :class:`LiquidHandlerDevice` on a deck with labware.

    Args:
        name: The device's name.
        backend: A name in
            :data:`~smartlab_kernel.devices.adapters.liquid_handler_backends.LIQUID_HANDLER_BACKENDS`:
            ``"chatterbox"``, ``"star_chatterbox"`` and ``"opentrons_simulator"`` need
            no instrument; ``"star"``, ``"vantage"``, ``"evo"`` and ``"opentrons"``
            drive one.
        backend_options: Keyword arguments of the backend class (e.g. ``{"host":
            "10.0.0.2"}`` for ``opentrons``, ``{"left_pipette_name": "p20_single_gen2"}``
            for ``opentrons_simulator``).
        num_channels: Pipetting channels of the chatterbox backends (the others
            learn theirs from the instrument).
        deck: Deck class in :mod:`pylabrobot.resources` (``STARLetDeck``, ``OTDeck``, ...).
        resources: Labware: ``{"name", "type", "rails" | "slot"}`` where ``type`` is a
            resource definition in :mod:`pylabrobot.resources`.
        tip_rack: Tip rack to take tips from (default: the first tip rack placed).
        liquids: Initial volume in uL by well address (``"plate:A1"``).
        volume_tracking: Turn on PyLabRobot's volume tracking (process-wide), so
            aspirating more than a well holds fails.
        new_tip_per_transfer: Discard the tip after each transfer.
        step_timeout: Seconds one step may take.

    Raises:
        ValueError: If the deck, backend, a backend option, labware or a well is unknown.
        ImportError: If the backend needs a package that is not installed.
    """
    backend_object = make_backend(backend, backend_options or {}, num_channels)
    if volume_tracking:
        set_volume_tracking(True)
    the_deck = _make_deck(deck)
    placed = [_place(the_deck, item) for item in resources]
    if not tip_rack:
        racks = [r.name for r in placed if isinstance(r, TipRack)]
        tip_rack = racks[0] if racks else ""
    handler = LiquidHandler(backend_object, the_deck)
    device = LiquidHandlerDevice(
        handler=handler,
        tip_rack=tip_rack or None,
        new_tip_per_transfer=new_tip_per_transfer,
        step_timeout=step_timeout,
        endpoint=f"PyLabRobot {backend} backend",
        name=name,
    )
    for well, volume in (liquids or {}).items():
        container = device.container(well)
        container.tracker.set_volume(float(volume))
    return device

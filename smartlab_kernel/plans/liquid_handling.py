"""Plan stubs for PyLabRobot liquid handlers, written the way PyLabRobot users write.

Each stub takes PyLabRobot resources (``plate["A1:H1"]``, ``tips["A1"]``, a
trough), runs the ``LiquidHandler`` method of the same name as one Bluesky
``set`` message on a :class:`~smartlab_kernel.devices.adapters.LiquidHandlerDevice`,
and then records an event in the ``liquid_handling`` stream: what was done
(``<handler>_step_action``, ``_step_wells``, ``_step_volume_ul``, ``_step_count``)
and the volume PyLabRobot tracks in every well of every plate on the deck
(``<handler>_volumes_<plate>``, a rows x columns array in uL).

Recording needs an open run (``bpp.run_decorator``); pass ``stream=None`` to
pipette without recording, e.g. outside a run.

Example::

    @bpp.run_decorator(md={"plan_name": "dilution"})
    def dilution():
        yield from pick_up_tips(handler, tips["A1"])
        yield from transfer(handler, plate["A1"], plate["B1:D1"], source_vol=90)
        yield from discard_tips(handler)
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import TYPE_CHECKING, Any

import bluesky.plan_stubs as bps
from bluesky.utils import Msg

from ..devices.adapters.pipetting_step import PipettingStep, as_resources, as_volumes

if TYPE_CHECKING:
    from pylabrobot.resources import Resource

    from ..devices.adapters.liquid_handler import LiquidHandlerDevice

Plan = Generator[Msg, Any, Any]

#: The stream each pipetting step is recorded in.
LIQUID_HANDLING_STREAM = "liquid_handling"


def pipette(
    handler: LiquidHandlerDevice,
    step: PipettingStep,
    *,
    stream: str | None = LIQUID_HANDLING_STREAM,
) -> Plan:
    """Run one step on ``handler`` and record it with the volumes on the deck.

    Args:
        handler: The liquid handler.
        step: What to do.
        stream: Stream to record the step in (``None``: do not record).

    Raises:
        ValueError: If a resource is not on the handler's deck or not of the kind
            the step needs (before anything moves).
    """
    handler.check_on_deck(step)
    yield from bps.mv(handler, step)
    if stream is not None:
        yield from bps.trigger_and_read([handler.step, handler.volumes], name=stream)


def aspirate(
    handler: LiquidHandlerDevice,
    resources: Resource | Sequence[Resource],
    vols: float | Sequence[float],
    *,
    stream: str | None = LIQUID_HANDLING_STREAM,
    **options: Any,
) -> Plan:
    """``LiquidHandler.aspirate``: aspirate ``vols`` uL from ``resources``, one channel each.

    Args:
        handler: The liquid handler.
        resources: Wells or containers (``plate["A1:H1"]``).
        vols: uL per well, or one number for all of them.
        stream: Stream to record the step in (``None``: do not record).
        **options: Passed to PyLabRobot (``use_channels``, ``flow_rates``, ``offsets``, ...).
    """
    wells = as_resources(resources)
    step = PipettingStep("aspirate", wells, as_volumes(vols, len(wells)), options)
    return (yield from pipette(handler, step, stream=stream))


def dispense(
    handler: LiquidHandlerDevice,
    resources: Resource | Sequence[Resource],
    vols: float | Sequence[float],
    *,
    stream: str | None = LIQUID_HANDLING_STREAM,
    **options: Any,
) -> Plan:
    """``LiquidHandler.dispense``: dispense ``vols`` uL to ``resources``, one channel each.

    Args:
        handler: The liquid handler.
        resources: Wells or containers (``plate["A1:H1"]``).
        vols: uL per well, or one number for all of them.
        stream: Stream to record the step in (``None``: do not record).
        **options: Passed to PyLabRobot (``use_channels``, ``flow_rates``, ``offsets``, ...).
    """
    wells = as_resources(resources)
    step = PipettingStep("dispense", wells, as_volumes(vols, len(wells)), options)
    return (yield from pipette(handler, step, stream=stream))


def transfer(
    handler: LiquidHandlerDevice,
    source: Resource | Sequence[Resource],
    targets: Resource | Sequence[Resource],
    source_vol: float | None = None,
    ratios: Sequence[float] | None = None,
    target_vols: Sequence[float] | None = None,
    *,
    stream: str | None = LIQUID_HANDLING_STREAM,
    **options: Any,
) -> Plan:
    """``LiquidHandler.transfer``: aspirate from ``source`` once, dispense to each target.

    Give ``source_vol`` (split equally, or by ``ratios``) or ``target_vols``,
    as in PyLabRobot. The volumes are worked out here, so the recorded step
    says what went to each target.

    Args:
        handler: The liquid handler (a tip must be mounted on channel 0).
        source: The source well (``plate["A1"]`` or ``plate["A1"][0]``).
        targets: The target wells (``plate["B1:D1"]``).
        source_vol: uL taken from the source.
        ratios: How ``source_vol`` is split between the targets.
        target_vols: uL for each target (instead of ``source_vol``).
        stream: Stream to record the step in (``None``: do not record).
        **options: Passed to PyLabRobot (``aspiration_flow_rate``, ``dispense_flow_rates``).

    Raises:
        TypeError: If both or neither of ``source_vol`` and ``target_vols`` are given.
        ValueError: If there is not exactly one source, or the ratios do not
            match the targets.
    """
    sources, wells = as_resources(source), as_resources(targets)
    if len(sources) != 1:
        raise ValueError(f"transfer takes one source well, got {len(sources)}")
    if (source_vol is None) == (target_vols is None):
        raise TypeError(
            "transfer needs either source_vol (with optional ratios) or target_vols, got "
            f"source_vol={source_vol!r}, target_vols={target_vols!r}"
        )
    if target_vols is None:
        assert source_vol is not None
        shares = [1.0] * len(wells) if ratios is None else [float(r) for r in ratios]
        if len(shares) != len(wells) or sum(shares) <= 0 or min(shares) < 0:
            raise ValueError(
                f"ratios must be one non-negative number per target ({len(wells)}) with a "
                f"positive sum, got {ratios!r}"
            )
        volumes = tuple(float(source_vol) * share / sum(shares) for share in shares)
    elif ratios is not None:
        raise TypeError("transfer takes ratios with source_vol, not with target_vols")
    else:
        volumes = as_volumes(target_vols, len(wells))
    step = PipettingStep("transfer", (*sources, *wells), volumes, options)
    return (yield from pipette(handler, step, stream=stream))


def pick_up_tips(
    handler: LiquidHandlerDevice,
    tip_spots: Resource | Sequence[Resource],
    *,
    stream: str | None = LIQUID_HANDLING_STREAM,
    **options: Any,
) -> Plan:
    """``LiquidHandler.pick_up_tips``: one tip per spot (``tips["A1:H1"]``), one channel each.

    Args:
        handler: The liquid handler.
        tip_spots: Tip spots of a tip rack on the deck.
        stream: Stream to record the step in (``None``: do not record).
        **options: Passed to PyLabRobot (``use_channels``, ``offsets``).
    """
    step = PipettingStep("pick_up_tips", as_resources(tip_spots), (), options)
    return (yield from pipette(handler, step, stream=stream))


def drop_tips(
    handler: LiquidHandlerDevice,
    tip_spots: Resource | Sequence[Resource],
    *,
    stream: str | None = LIQUID_HANDLING_STREAM,
    **options: Any,
) -> Plan:
    """``LiquidHandler.drop_tips``: put the mounted tips back into ``tip_spots`` (or the trash).

    Args:
        handler: The liquid handler.
        tip_spots: Empty tip spots, or the deck's trash.
        stream: Stream to record the step in (``None``: do not record).
        **options: Passed to PyLabRobot (``use_channels``, ``allow_nonzero_volume``, ...).
    """
    step = PipettingStep("drop_tips", as_resources(tip_spots), (), options)
    return (yield from pipette(handler, step, stream=stream))


def discard_tips(
    handler: LiquidHandlerDevice,
    *,
    stream: str | None = LIQUID_HANDLING_STREAM,
    **options: Any,
) -> Plan:
    """``LiquidHandler.discard_tips``: drop every mounted tip into the trash.

    Args:
        handler: The liquid handler.
        stream: Stream to record the step in (``None``: do not record).
        **options: Passed to PyLabRobot (``use_channels``, ``allow_nonzero_volume``).
    """
    step = PipettingStep("discard_tips", (), (), options)
    return (yield from pipette(handler, step, stream=stream))

"""One PyLabRobot liquid-handling call, as a value a Bluesky ``set`` message carries."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from pylabrobot.resources import Resource

Action = Literal["aspirate", "dispense", "transfer", "pick_up_tips", "drop_tips", "discard_tips"]

#: The actions, with what their resources are.
ACTIONS: dict[str, str] = {
    "aspirate": "wells or containers to aspirate from",
    "dispense": "wells or containers to dispense to",
    "transfer": "the source well, then the target wells",
    "pick_up_tips": "tip spots",
    "drop_tips": "tip spots or the trash",
    "discard_tips": "nothing (tips go to the trash)",
}

#: Actions that move liquid, with one volume per well (per target for ``transfer``).
LIQUID_ACTIONS = ("aspirate", "dispense", "transfer")


def address(resource: Resource) -> str:
    """Name a resource as ``"<plate>:<well>"`` (``"tips:A1"``, ...), else by its own name."""
    from pylabrobot.resources import ItemizedResource

    parent = resource.parent
    if isinstance(parent, ItemizedResource):
        try:
            return f"{parent.name}:{parent.get_child_identifier(resource)}"
        except ValueError:
            pass
    return str(resource.name)


@dataclass(frozen=True)
class PipettingStep:
    """A call of a PyLabRobot ``LiquidHandler`` method, with its resources and volumes.

    ``bps.mv(handler, PipettingStep("aspirate", plate["A1:B1"], (50, 50)))`` runs
    ``await lh.aspirate(plate["A1:B1"], vols=[50, 50])`` on the handler's backend.
    The plans in :mod:`smartlab_kernel.plans.liquid_handling` build these for you.

    Attributes:
        action: The ``LiquidHandler`` method (see :data:`ACTIONS`).
        resources: Its resources; for ``transfer``, the source then the targets.
        volumes: Volumes in uL: one per well (``aspirate``, ``dispense``) or per
            target (``transfer``); empty for tip steps.
        options: Further keyword arguments of the method (``use_channels``,
            ``flow_rates``, ``offsets``, ...), passed through unchanged.
    """

    action: Action
    resources: tuple[Resource, ...]
    volumes: tuple[float, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"pipetting action {self.action!r} is not one of {sorted(ACTIONS)}")
        object.__setattr__(self, "resources", tuple(self.resources))
        object.__setattr__(self, "volumes", tuple(float(v) for v in self.volumes))
        wells = len(self.resources) - (1 if self.action == "transfer" else 0)
        if self.action in LIQUID_ACTIONS:
            if wells < 1:
                raise ValueError(f"{self.action} needs {ACTIONS[self.action]}, got none")
            if len(self.volumes) != wells:
                raise ValueError(
                    f"{self.action} needs one volume per well: {wells} well(s) "
                    f"({', '.join(self.wells[-wells:])}) but {len(self.volumes)} volume(s) "
                    f"{list(self.volumes)}"
                )
            for volume in self.volumes:
                if not math.isfinite(volume) or volume <= 0:
                    raise ValueError(
                        f"{self.action} volumes must be finite and more than 0 uL, got "
                        f"{list(self.volumes)}"
                    )
        elif self.volumes:
            raise ValueError(f"{self.action} takes no volumes, got {list(self.volumes)}")
        elif self.action in ("pick_up_tips", "drop_tips") and not self.resources:
            raise ValueError(f"{self.action} needs {ACTIONS[self.action]}, got none")

    @property
    def wells(self) -> list[str]:
        """The resources' addresses (``"plate:A1"``), in order."""
        return [address(r) for r in self.resources]

    def describe(self) -> str:
        """The step in words, for progress and error messages."""
        where = ", ".join(self.wells)
        if self.action == "transfer":
            source, *targets = self.wells
            return f"transferring {sum(self.volumes):g} uL from {source} to {', '.join(targets)}"
        if self.action in LIQUID_ACTIONS:
            return f"{self.action.replace('_', ' ')} {sum(self.volumes):g} uL at {where}"
        return f"{self.action.replace('_', ' ')}" + (f" at {where}" if where else "")

    async def run(self, handler: Any) -> None:
        """Await the ``LiquidHandler`` call on ``handler``."""
        resources, volumes, options = list(self.resources), list(self.volumes), dict(self.options)
        if self.action == "aspirate":
            await handler.aspirate(resources, vols=volumes, **options)
        elif self.action == "dispense":
            await handler.dispense(resources, vols=volumes, **options)
        elif self.action == "transfer":
            await handler.transfer(resources[0], resources[1:], target_vols=volumes, **options)
        elif self.action == "pick_up_tips":
            await handler.pick_up_tips(resources, **options)
        elif self.action == "drop_tips":
            await handler.drop_tips(resources, **options)
        else:
            await handler.discard_tips(**options)


def as_resources(resources: Resource | Sequence[Resource]) -> tuple[Resource, ...]:
    """A resource or a list of them (``plate["A1:H1"]``) as a tuple."""
    if isinstance(resources, Sequence) and not isinstance(resources, str):
        return tuple(resources)
    return (resources,)


def as_volumes(volumes: float | Sequence[float], count: int) -> tuple[float, ...]:
    """One volume per well: a single number is used for all ``count`` of them.

    Raises:
        TypeError: If ``volumes`` is neither a number nor a list of numbers.
    """
    if isinstance(volumes, int | float) and not isinstance(volumes, bool):
        return (float(volumes),) * count
    if isinstance(volumes, Sequence) and not isinstance(volumes, str):
        numbers = [v for v in volumes if isinstance(v, int | float) and not isinstance(v, bool)]
        if len(numbers) == len(volumes):
            return tuple(float(v) for v in numbers)
    raise TypeError(f"volumes must be a number of uL or a list of them, got {volumes!r}")

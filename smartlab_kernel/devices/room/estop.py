"""An emergency-stop button."""

from __future__ import annotations

from ophyd import Component as Cpt
from ophyd import Signal

from .base import RoomDevice


class EmergencyStop(RoomDevice):
    """The room's emergency-stop button: ``pressed`` is true until it is released.

    Safety interlocks suspend plans while it is pressed (see
    :mod:`smartlab_kernel.management.safety`).
    """

    pressed = Cpt(Signal, value=False, kind="hinted")

    def press(self) -> None:
        """Press the button."""
        self.pressed.put(True)

    def release(self) -> None:
        """Release (reset) the button."""
        self.pressed.put(False)

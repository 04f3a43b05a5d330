"""What the layers above the Lab core attach to a lab: a room, a LIMS, ...

The Lab core knows nothing of rooms, LIMS or served labs. A package above
it registers, when it is imported, a factory under a name (``"room"`` by
:mod:`smartlab_kernel.management`, ``"lims"`` by
:mod:`smartlab_kernel.lims_link`, ``"connect"`` by
:mod:`smartlab_kernel.remote`), and the lab asks for it by that name:
``Lab.simulated(room=True)`` calls the ``"room"`` factory. Importing
``smartlab_kernel`` imports those packages, so the names are always there
for a user; imports still point downward only.

An attachment may have ``wrap(plan, run)`` (every plan the lab runs passes
through it), ``after_run(run)`` (called once a run has ended and the lab has
cancelled what its devices still held), ``status()`` (merged into
``lab.status()`` under its name) and ``close()`` (called when the lab closes).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from .errors import SessionError

#: ``factory(lab, option)`` -> the attachment (``option`` is what the user passed).
AttachmentFactory = Callable[..., Any]

_FACTORIES: dict[str, AttachmentFactory] = {}
_OWNERS = {
    "room": "smartlab_kernel.management",
    "lims": "smartlab_kernel.lims_link",
    "connect": "smartlab_kernel.remote",
    "bundle": "smartlab_kernel.publish",
}


@runtime_checkable
class Attachment(Protocol):
    """What the lab calls on an attachment (each method is optional)."""

    def status(self) -> dict[str, Any]:
        """A summary merged into ``lab.status()`` under the attachment's name."""
        ...


def register_attachment(name: str, factory: AttachmentFactory) -> None:
    """Make ``factory`` the one the lab uses for ``name`` (called on import of its package)."""
    _FACTORIES[name] = factory


def attachment_factory(name: str) -> AttachmentFactory:
    """The factory registered for ``name``.

    Raises:
        SessionError: If none is, naming the package that provides it.
    """
    try:
        return _FACTORIES[name]
    except KeyError:
        owner = _OWNERS.get(name, "the package that provides it")
        raise SessionError(
            f"nothing provides {name!r} for the lab: import {owner} (importing "
            "smartlab_kernel does it)"
        ) from None

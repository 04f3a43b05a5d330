"""Channel Access keeps finding PVs after a search fails to go out.

caproto sends every search of a process from one thread; an error there used to
end it, and every EPICS device of the process then timed out "searching" (a CI
run lost nine adapter tests after that thread died). The fault injected here is
a send that fails once.
"""

from __future__ import annotations

import errno
import socket
import threading
from typing import Any

import pytest

from smartlab_kernel.testing import require_module

from .conftest import IocFactory

require_module("caproto", "pip install caproto")
from ophyd import EpicsSignalRO  # noqa: E402

from smartlab_kernel.devices.adapters.epics_layer import ensure_control_layer  # noqa: E402

pytestmark = pytest.mark.timeout(60)


class SearchSocketFailingOnce:
    """Stands in for caproto's UDP socket: the search thread's first send fails."""

    def __init__(self, real: socket.socket) -> None:
        self.real = real
        self.failed: list[tuple[str, int]] = []

    def sendto(self, data: bytes, address: tuple[str, int]) -> int:
        if not self.failed and threading.current_thread().name == "retry":
            self.failed.append(address)
            raise OSError(errno.ENOBUFS, "No buffer space available")
        return self.real.sendto(data, address)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def test_a_search_that_fails_to_send_goes_out_again_and_the_pv_connects(
    reactor_ioc: IocFactory,
) -> None:
    assert ensure_control_layer() == "caproto"
    reactor_ioc("SR1:REACTOR:")
    from caproto.threading.pyepics_compat import PV

    broadcaster = PV.default_context().broadcaster
    real = broadcaster.udp_sock
    flaky = SearchSocketFailingOnce(real)
    broadcaster.udp_sock = flaky
    try:
        first = EpicsSignalRO("SR1:REACTOR:TEMP_RBV", name="temperature")
        first.wait_for_connection(timeout=10)
        assert flaky.failed, "the fault was not injected: no search was sent"
        assert first.get() == pytest.approx(25.0, abs=5.0)
    finally:
        broadcaster.udp_sock = real
    # and the search thread is still there for the next PV
    later = EpicsSignalRO("SR1:REACTOR:TEMP_SP", name="setpoint")
    later.wait_for_connection(timeout=10)
    assert later.get() == pytest.approx(25.0)
    assert broadcaster._retry_unanswered_searches_thread.is_alive()

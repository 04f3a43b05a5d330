"""Fixtures for adapter tests: protocol peers on 127.0.0.1 and labs around them."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Mapping

import pytest
from ophyd import Device

from smartlab_kernel import Lab
from smartlab_kernel.testing import require_module

from .peers import PeerProcess, free_port, python_script

# Channel Access reads these once, when its client starts: set them before any PV
# exists so every search goes to 127.0.0.1 on ports no other test uses.
CA_PORT = free_port()
os.environ.update(
    EPICS_CA_SERVER_PORT=str(CA_PORT),
    EPICS_CA_REPEATER_PORT=str(free_port()),
    EPICS_CA_ADDR_LIST="127.0.0.1",
    EPICS_CA_AUTO_ADDR_LIST="NO",
)

#: Simulated seconds per real second of the test IOC: tau = 60 s takes 0.3 s.
IOC_TIME_SCALE = 200.0

IocFactory = Callable[..., PeerProcess]


@pytest.fixture
def reactor_ioc() -> Iterator[IocFactory]:
    """Start reactor IOCs with ``reactor_ioc(prefix, time_scale=...)``; killed at teardown."""
    require_module("caproto", "pip install caproto")
    started: list[PeerProcess] = []

    def start(prefix: str, time_scale: float = IOC_TIME_SCALE) -> PeerProcess:
        command = [
            *python_script("reactor_ioc.py"),
            "--prefix",
            prefix,
            "--interfaces",
            "127.0.0.1",
            "--time-scale",
            str(time_scale),
        ]
        peer = PeerProcess(command, "Server startup complete", dict(os.environ))
        started.append(peer)
        return peer.start()

    yield start
    for peer in started:
        peer.kill()


@pytest.fixture(scope="session")
def shared_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """One Lab for the adapter tests (its embedded catalog takes seconds to start)."""
    lab = Lab({}, tmp_path_factory.mktemp("adapters-lab"))
    yield lab
    lab.close()


LabWith = Callable[[Mapping[str, Device]], Lab]


@pytest.fixture
def lab_with(shared_lab: Lab) -> Iterator[LabWith]:
    """``lab_with(devices)``: the shared lab holding these devices for this test only."""
    added: list[str] = []

    def add(devices: Mapping[str, Device]) -> Lab:
        for name, device in devices.items():
            shared_lab.add_device(name, device)
            added.append(name)
        return shared_lab

    yield add
    shared_lab.abort("test finished")
    shared_lab.wait(30)
    for name in added:
        shared_lab.devices.pop(name, None)


def start_sila_spectrometer(port: int, time_scale: float = 20.0) -> PeerProcess:
    """Start the SiLA 2 spectrometer server on 127.0.0.1:``port`` (insecure)."""
    require_module("sila2", "pip install sila2")
    command = [
        sys.executable,
        "-m",
        "smartlab_kernel.devices.adapters.sila_spectrometer",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--time-scale",
        str(time_scale),
    ]
    peer = PeerProcess(command, "SiLA 2 spectrometer serving on", dict(os.environ))
    return peer.start(timeout=90)


@pytest.fixture(scope="session")
def sila_server() -> Iterator[tuple[PeerProcess, int]]:
    """A SiLA 2 spectrometer server shared by the tests that do not kill it."""
    port = free_port()
    peer = start_sila_spectrometer(port)
    yield peer, port
    peer.kill()

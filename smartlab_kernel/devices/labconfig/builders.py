"""Build ophyd devices from a lab configuration: a lab is described, not coded."""

from __future__ import annotations

from ophyd import Device

from ..bench import SimulatedBench, build_bench
from .errors import LabConfigError
from .model import DeviceConfig, LabConfig


class DeviceFactory:
    """Builds the devices of one configuration; simulated devices share one bench.

    Args:
        config: The validated configuration.
    """

    def __init__(self, config: LabConfig) -> None:
        self.config = config
        self._bench: SimulatedBench | None = None

    @property
    def bench(self) -> SimulatedBench:
        """The simulated bench (built on first use from the ``simulation`` section)."""
        if self._bench is None:
            s = self.config.simulation
            self._bench = build_bench(
                seed=int(s.get("seed", 0)),
                time_scale=float(s.get("time_scale", 1.0)),
                device_timeout=float(s.get("device_timeout", 30.0)),
            )
        return self._bench

    def build(self, device: DeviceConfig) -> Device:
        """Build one device (SiLA 2 devices connect to their server to learn its features).

        Raises:
            LabConfigError: If a setting cannot be used (e.g. an unknown labware type).
            ImportError: If the protocol's package is not installed.
            DeviceDisconnectedError: If a SiLA 2 server does not answer.
        """
        builder = {
            "simulated": self._simulated,
            "epics": _epics,
            "sila2": _sila2,
            "pylabrobot": _pylabrobot,
            "ophyd_async": _ophyd_async,
        }[device.kind]
        built: Device = builder(device)
        return built

    def _simulated(self, device: DeviceConfig) -> Device:
        model = device.settings["model"]
        taken = [
            d.name
            for d in self.config.devices.values()
            if d.kind == "simulated" and d.settings["model"] == model
        ]
        if len(taken) > 1:
            raise _problem(
                self.config,
                f"devices {taken} are all simulated {model!r}; the simulated bench has one "
                f"{model}, so configure it once",
            )
        simulated: Device = self.bench.devices[model]
        return simulated


def _problem(config: LabConfig, message: str) -> LabConfigError:
    return LabConfigError([message], config.source)


def _epics(device: DeviceConfig) -> Device:
    from .epics_builders import build_epics

    return build_epics(device)


def _sila2(device: DeviceConfig) -> Device:
    from ..adapters.sila_device import connect_sila_device

    s = device.settings
    sila: Device = connect_sila_device(
        device.name,
        host=s["host"],
        port=int(s["port"]),
        insecure=bool(s["insecure"]),
        feature=s["feature"] or None,
        timeout=float(s["timeout"]),
    )
    return sila


def _pylabrobot(device: DeviceConfig) -> Device:
    from ..adapters.liquid_handler_setup import build_liquid_handler

    s = device.settings
    try:
        handler: Device = build_liquid_handler(device.name, **s)
    except (ValueError, TypeError, KeyError) as exc:
        raise LabConfigError([f"device {device.name!r}: {exc}"]) from exc
    return handler


def _ophyd_async(device: DeviceConfig) -> Device:
    from ..adapters.ophyd_async_devices import build_ophyd_async_device

    try:
        built: Device = build_ophyd_async_device(device.name, **device.settings)
    except ValueError as exc:
        raise LabConfigError([f"device {device.name!r}: {exc}"]) from exc
    return built


def build_devices(config: LabConfig) -> dict[str, Device]:
    """Build every device of ``config``, in file order.

    Args:
        config: A configuration from :func:`~smartlab_kernel.devices.labconfig.load_lab_config`.

    Returns:
        Device name -> ophyd device, ready for ``Lab(devices, ...)``.

    Raises:
        LabConfigError: If a setting cannot be used.
        DeviceDisconnectedError: If a SiLA 2 server does not answer.
    """
    factory = DeviceFactory(config)
    return {name: factory.build(device) for name, device in config.devices.items()}

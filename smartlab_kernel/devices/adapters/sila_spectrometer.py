"""A SiLA 2 server exposing the simulated spectrometer (feature ``SpectrometerController``).

It is the protocol peer the SiLA 2 adapter is tested against, and shows how an
instrument maker's server looks to the lab. ``Measure`` is an observable
command that reports progress while the simulated integration runs.

Run it with ``python -m smartlab_kernel.devices.adapters.sila_spectrometer
--port 50052`` (insecure, on 127.0.0.1 by default).
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sila2.framework import Feature
from sila2.server import FeatureImplementationBase, ObservableCommandInstance, SilaServer

from ..bench import build_bench
from ..spectrometer import Spectrometer

FEATURE_FILE = Path(__file__).with_name("SpectrometerController.sila.xml")
READY_TEXT = "SiLA 2 spectrometer serving on"


class SpectrometerImplementation(FeatureImplementationBase):
    """Serves one simulated :class:`~smartlab_kernel.devices.Spectrometer`.

    Args:
        parent_server: The SiLA server.
        spectrometer: The simulated spectrometer (a vial must be at its station).
    """

    def __init__(self, parent_server: SilaServer, spectrometer: Spectrometer) -> None:
        super().__init__(parent_server=parent_server)
        self.spectrometer = spectrometer
        self._lock = threading.Lock()

    def get_Readout(self, *, metadata: Any) -> float:
        """Readout of the last measurement."""
        return float(self.spectrometer.readout.get())

    def get_PeakAbsorbance(self, *, metadata: Any) -> float:
        """Peak absorbance of the last measurement."""
        return float(self.spectrometer.peak_absorbance.get())

    def get_Spectrum(self, *, metadata: Any) -> list[float]:
        """Spectrum of the last measurement."""
        return [float(x) for x in self.spectrometer.spectrum.get()]

    def get_IntegrationTime(self, *, metadata: Any) -> float:
        """Integration time in seconds."""
        return float(self.spectrometer.integration_time.get())

    def SetIntegrationTime(self, IntegrationTime: float, *, metadata: Any) -> tuple[()]:
        """Set the integration time (checked against the spectrometer's limits)."""
        self.spectrometer.integration_time.put(
            self.spectrometer.integration_time.coerce(IntegrationTime, "integration time")
        )
        return ()

    def Measure(self, *, metadata: Any, instance: ObservableCommandInstance) -> float:
        """Measure the sample, reporting progress until the simulated integration ends."""
        with self._lock:
            instance.begin_execution()
            status = self.spectrometer.trigger()
            started = time.monotonic()
            seconds = self.spectrometer.world.clock.real_seconds(
                float(self.spectrometer.integration_time.get())
            )
            while not status.done:
                instance.progress = min(0.99, (time.monotonic() - started) / max(seconds, 1e-9))  # type: ignore[misc]  # sila2 declares a setter mypy misses
                time.sleep(min(0.05, max(seconds / 20, 0.005)))
            status.wait(0)
            instance.progress = 1.0  # type: ignore[misc]  # sila2 declares a setter mypy misses
            return float(self.spectrometer.readout.get())


def make_server(seed: int = 0, time_scale: float = 1.0) -> SilaServer:
    """Build (not start) a SiLA server around a simulated spectrometer with a vial loaded."""
    bench = build_bench(seed=seed, time_scale=time_scale)
    bench.world.new_vial("spectrometer")
    server = SilaServer(
        server_name="SimulatedSpectrometer",
        server_type="Spectrometer",
        server_description="smartlab_kernel's simulated UV-vis spectrometer",
        server_version="0.1",
        server_vendor_url="https://example.org/smartlab",
    )
    server.set_feature_implementation(
        Feature(str(FEATURE_FILE)), SpectrometerImplementation(server, bench.spectrometer)
    )
    return server


def main(argv: Sequence[str] | None = None) -> None:
    """Serve until interrupted (``--host``, ``--port``, ``--seed``, ``--time-scale``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=50052)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--time-scale", type=float, default=1.0)
    args = parser.parse_args(argv)
    server = make_server(args.seed, args.time_scale)
    server.start_insecure(args.host, args.port, enable_discovery=False)
    print(f"{READY_TEXT} {args.host}:{args.port}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":  # pragma: no cover
    main()

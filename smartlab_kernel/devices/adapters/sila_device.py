"""A generic ophyd device wrapping one feature of a SiLA 2 server.

Properties become read-only signals (readbacks), unobservable commands with
one parameter become settable signals, and a parameterless observable
command (e.g. ``Measure``) is what ``trigger()`` runs, reporting the
server's progress through the status.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import grpc
import numpy as np
from ophyd import Component as Cpt
from ophyd import Device, Signal
from ophyd.status import Status
from sila2.client import SilaClient
from sila2.framework import SilaConnectionError

from ..errors import DeviceDisconnectedError, DeviceTimeoutError
from .deadline import CallOverdueError, call_with_deadline
from .failures import not_answering, timed_out
from .progress_status import ProgressStatus

T = TypeVar("T")
#: Errors the SiLA client raises when the server does not answer.
SILA_FAILURES = (SilaConnectionError, grpc.RpcError, ConnectionError, TimeoutError)
#: Features every SiLA server has; they are never the one wrapped.
CORE_FEATURES = frozenset(
    {
        "SiLAService",
        "LockController",
        "AuthorizationService",
        "AuthenticationService",
        "AuthorizationProviderService",
    }
)
POLL_S = 0.02
HEARTBEAT_S = 0.5
#: What a call that got no answer in time expected.
NO_ANSWER = "the SiLA server to answer (it neither answered nor closed the connection)"


def snake_case(identifier: str) -> str:
    """``"PeakAbsorbance"`` -> ``"peak_absorbance"``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", identifier).lower()


class SilaPropertySignal(Signal):
    """A read-only signal whose value is a SiLA property, fetched on every read.

    Args:
        property_id: The property's identifier, e.g. ``"Readout"``.
        **kwargs: Passed to :class:`ophyd.Signal`.
    """

    def __init__(self, *, property_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.property_id = property_id
        self._metadata.update(write_access=False)

    def get(self, **kwargs: Any) -> Any:
        """Ask the server for the property now."""
        device: SilaDevice = self.parent
        value = device.call(
            f"reading {self.property_id}", getattr(device.sila, self.property_id).get
        )
        if isinstance(value, list | tuple):
            value = np.asarray(value)
        self._readback = value
        self._metadata["timestamp"] = time.time()
        return value

    def describe(self) -> dict[str, dict[str, Any]]:
        """Describe the property from a fresh value (arrays get their shape)."""
        value = self.get()
        desc = dict(super().describe())
        desc[self.name]["source"] = f"SiLA:{self.parent.endpoint}/{self.property_id}"
        if isinstance(value, np.ndarray):
            desc[self.name].update(dtype="array", shape=list(value.shape))
        return desc

    def put(self, value: Any, **kwargs: Any) -> None:
        """Refuse writes: properties are readbacks."""
        raise PermissionError(f"{self.name} is the SiLA property {self.property_id} (read-only)")


class SilaCommandSignal(Signal):
    """A signal whose ``set(value)`` calls an unobservable command with one parameter.

    Args:
        command_id: The command's identifier, e.g. ``"SetIntegrationTime"``.
        **kwargs: Passed to :class:`ophyd.Signal`.
    """

    def __init__(self, *, command_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.command_id = command_id

    def put(self, value: Any, **kwargs: Any) -> None:
        """Call the command with ``value``; remember it as this signal's value."""
        device: SilaDevice = self.parent
        command = getattr(device.sila, self.command_id)
        device.call(f"calling {self.command_id}({value!r})", lambda: command(value))
        super().put(value, **kwargs)

    def set(self, value: Any, **kwargs: Any) -> Status:
        """Call the command; the returned status is already finished."""
        self.put(value)
        status = Status(obj=self)
        status.set_finished()
        return status


class SilaDevice(Device):
    """One feature of a SiLA 2 server as an ophyd device; build it with :func:`connect_sila_device`.

    Args:
        client: The connected SiLA client.
        feature_id: Identifier of the wrapped feature.
        endpoint: ``"host:port"`` of the server, for error messages.
        timeout: Seconds a call to the server may take before it fails with
            :class:`~smartlab_kernel.devices.errors.DeviceTimeoutError`; for an
            observable command, from its start to its responses.
        trigger_command: Observable command without parameters run by ``trigger()``
            (``None``: trigger does nothing).
        **kwargs: Passed to :class:`ophyd.Device` (``name`` is required).
    """

    def __init__(
        self,
        prefix: str = "",
        *,
        client: SilaClient,
        feature_id: str,
        endpoint: str,
        timeout: float = 10.0,
        trigger_command: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.client = client
        self.feature_id = feature_id
        self.endpoint = endpoint
        self.timeout = float(timeout)
        self.trigger_command = trigger_command
        self.last_responses: Any = None
        super().__init__(prefix, **kwargs)

    @property
    def sila(self) -> Any:
        """The client-side feature: ``device.sila.Readout.get()``, ``device.sila.Measure()``."""
        return getattr(self.client, self.feature_id)

    def call(self, doing: str, function: Callable[[], T], timeout: float | None = None) -> T:
        """Call the server; turn a failure into an error naming the device and endpoint.

        The SiLA client waits for ever for a server that hangs without closing
        its connection, so the call gets a deadline.

        Args:
            doing: What the call does, e.g. ``"reading Readout"``.
            function: The call, e.g. ``device.sila.Readout.get``.
            timeout: Seconds it may take (default: ``self.timeout``).

        Raises:
            DeviceDisconnectedError: If the server cannot be reached.
            DeviceTimeoutError: If it does not answer within ``timeout`` seconds.
        """
        limit = self.timeout if timeout is None else float(timeout)
        try:
            return call_with_deadline(function, limit, name=f"{self.name}: {doing}")
        except CallOverdueError:
            raise timed_out(self.name, self.endpoint, doing, limit, NO_ANSWER) from None
        except SILA_FAILURES as exc:
            raise not_answering(self.name, self.endpoint, doing, exc) from exc

    def run_command(self, command_id: str, *args: Any) -> ProgressStatus:
        """Start an observable command; its status reports the server's progress.

        The status fails with :class:`~smartlab_kernel.devices.errors.DeviceDisconnectedError`
        if the server goes away, with
        :class:`~smartlab_kernel.devices.errors.DeviceTimeoutError` if the command
        has not given its responses ``timeout`` seconds after it was started
        (also when the server hangs), or with the server's own error.
        """
        doing = f"running {command_id}"
        deadline = time.monotonic() + self.timeout
        instance = self.call(doing, lambda: getattr(self.sila, command_id)(*args))
        status = ProgressStatus(self, call_stop_on_failure=False)

        def overdue() -> DeviceTimeoutError:
            progress = instance.progress
            reported = (
                f"it last reported {float(progress):.0%} done"
                if progress is not None
                else "it reported no progress"
            )
            expected = f"the server to finish {command_id} ({reported})"
            return timed_out(self.name, self.endpoint, doing, self.timeout, expected)

        def follow() -> None:
            next_heartbeat = time.monotonic() + HEARTBEAT_S
            try:
                while not instance.done:
                    now = time.monotonic()
                    if now > deadline:
                        raise overdue()
                    if now > next_heartbeat:
                        # The progress stream does not say when the server dies or hangs: ask.
                        try:
                            self.heartbeat(doing, timeout=deadline - now)
                        except DeviceTimeoutError:
                            raise overdue() from None
                        next_heartbeat = time.monotonic() + HEARTBEAT_S
                    progress = instance.progress
                    if progress is not None:
                        status.report(fraction=1.0 - float(progress))
                    time.sleep(POLL_S)
                remaining = max(deadline - time.monotonic(), POLL_S)
                try:
                    self.last_responses = self.call(doing, instance.get_responses, remaining)
                except DeviceTimeoutError:
                    raise overdue() from None
            except Exception as exc:  # reported through the status, never swallowed
                status.set_exception(exc)
            else:
                status.report(fraction=0.0)
                status.set_finished()

        threading.Thread(target=follow, name=f"{self.name}-{command_id}", daemon=True).start()
        return status

    def heartbeat(self, doing: str, timeout: float | None = None) -> None:
        """Ask the server for its name: the cheapest call that shows it still answers.

        Args:
            doing: What the device is doing, for the error message.
            timeout: Seconds to wait for the answer (default: ``self.timeout``).

        Raises:
            DeviceDisconnectedError: If it cannot be reached.
            DeviceTimeoutError: If it does not answer in time.
        """
        self.call(doing, self.client.SiLAService.ServerName.get, timeout)

    def wait_for_connection(self, all_signals: bool = False, timeout: float | None = 2.0) -> None:
        """Wait until the server answers, e.g. after it was restarted.

        gRPC reconnects by itself, but retries with a growing back-off (from 1 s
        up to 2 minutes) while the server is away, so the first call after a
        restart may still fail; this asks again until the server answers.

        Args:
            all_signals: Unused (every signal is a call to the same server).
            timeout: Seconds to keep asking (``None``: ``self.timeout``).

        Raises:
            DeviceDisconnectedError: If the server cannot be reached in time.
            DeviceTimeoutError: If it is reached but does not answer in time.
        """
        limit = self.timeout if timeout is None else float(timeout)
        deadline = time.monotonic() + limit
        while True:
            try:
                self.heartbeat("connecting", max(deadline - time.monotonic(), POLL_S))
                return
            except DeviceDisconnectedError:
                if time.monotonic() + 0.1 > deadline:
                    raise
            time.sleep(0.1)

    def trigger(self) -> Status:
        """Run ``trigger_command`` (e.g. ``Measure``); the status reports its progress."""
        if self.trigger_command is None:
            return super().trigger()
        return self.run_command(self.trigger_command)

    def check_connection(self, timeout: float = 5.0) -> str:
        """Ask the server for its name and return a one-line summary.

        Args:
            timeout: Seconds to wait for the answer.

        Raises:
            DeviceDisconnectedError: If the server cannot be reached.
            DeviceTimeoutError: If it does not answer within ``timeout`` seconds.
        """
        server_name = self.call("connecting", self.client.SiLAService.ServerName.get, timeout)
        return f"SiLA 2 server {server_name!r}, feature {self.feature_id}"

    def close(self) -> None:
        """Close the connection to the server."""
        self.client.close()


def sila_device_class(feature: Any) -> type[SilaDevice]:
    """Build a :class:`SilaDevice` subclass with one component per property and setter.

    Args:
        feature: A client feature (``client.<FeatureIdentifier>``).
    """
    components: dict[str, Any] = {}
    first = True

    def attribute(identifier: str) -> str:
        name = snake_case(identifier)
        return f"sila_{name}" if hasattr(SilaDevice, name) or name in components else name

    for identifier in feature._unobservable_properties:
        kind = "hinted" if first else "normal"
        first = False
        components[attribute(identifier)] = Cpt(
            SilaPropertySignal, property_id=identifier, kind=kind
        )
    for identifier, command in feature._unobservable_commands.items():
        if len(command.parameters.fields) == 1:
            components[attribute(identifier)] = Cpt(
                SilaCommandSignal, command_id=identifier, kind="omitted"
            )
    return type(f"Sila{feature._identifier}", (SilaDevice,), components)


def connect_sila_device(
    name: str,
    *,
    host: str = "127.0.0.1",
    port: int,
    insecure: bool = True,
    feature: str | None = None,
    timeout: float = 10.0,
    trigger_command: str | None = None,
) -> SilaDevice:
    """Connect to a SiLA 2 server and wrap one of its features as a device.

    Args:
        name: The device's name.
        host: Server host.
        port: Server port.
        insecure: Connect without TLS.
        feature: Feature identifier; default: the only feature that is not a core one.
        timeout: Seconds a call may take (an observable command: until its
            responses); connecting is bounded by it too.
        trigger_command: Command ``trigger()`` runs; default: the only observable
            command without parameters, if there is exactly one.

    Raises:
        DeviceDisconnectedError: If the server cannot be reached.
        DeviceTimeoutError: If it does not describe itself within ``timeout`` seconds.
        ValueError: If the feature is not served, or which one to wrap is ambiguous.
    """
    endpoint = f"{host}:{port}"
    try:
        client = call_with_deadline(
            lambda: SilaClient(host, port, insecure=insecure),
            timeout,
            name=f"{name}: connecting",
            discard=lambda late: late.close(),
        )
    except CallOverdueError:
        expected = (
            "the SiLA server to list its features (it neither answered nor closed the connection)"
        )
        raise timed_out(name, endpoint, "connecting", timeout, expected) from None
    except SILA_FAILURES as exc:
        raise not_answering(name, endpoint, "connecting", exc) from exc
    served = [f for f in client._features if f not in CORE_FEATURES]
    if feature is None:
        if len(served) != 1:
            client.close()
            raise ValueError(
                f"SiLA server at {endpoint} for device {name!r} serves features {served}; "
                "name the one to wrap with feature=..."
            )
        feature = served[0]
    if feature not in served:
        client.close()
        raise ValueError(
            f"SiLA server at {endpoint} does not serve feature {feature!r}; it serves {served}"
        )
    client_feature = client._features[feature]
    if trigger_command is None:
        candidates = [
            identifier
            for identifier, command in client_feature._observable_commands.items()
            if not command.parameters.fields
        ]
        trigger_command = candidates[0] if len(candidates) == 1 else None
    cls = sila_device_class(client_feature)
    return cls(
        client=client,
        feature_id=feature,
        endpoint=endpoint,
        timeout=timeout,
        trigger_command=trigger_command,
        name=name,
    )

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest

from smartlab_kernel.widgets.marshal import KernelLoop, Throttle


@pytest.fixture
def loop_thread() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


def _on_loop(loop: asyncio.AbstractEventLoop) -> KernelLoop:
    """A KernelLoop captured on the loop's own thread, as a widget built in a cell would."""
    captured: list[KernelLoop] = []
    done = threading.Event()

    def capture() -> None:
        captured.append(KernelLoop())
        done.set()

    loop.call_soon_threadsafe(capture)
    assert done.wait(5)
    return captured[0]


def test_without_a_loop_calls_run_at_once() -> None:
    kernel = KernelLoop()
    assert not kernel.running
    calls: list[int] = []
    kernel.call(calls.append, 1)
    kernel.call_later(10.0, lambda: calls.append(2))
    assert calls == [1, 2]
    stop = kernel.every(0.01, lambda: calls.append(3))
    time.sleep(0.05)
    stop()
    assert calls == [1, 2]


def test_calls_from_other_threads_run_on_the_loop_thread(
    loop_thread: asyncio.AbstractEventLoop,
) -> None:
    kernel = _on_loop(loop_thread)
    assert kernel.running
    threads: list[int] = []
    done = threading.Event()

    def record() -> None:
        threads.append(threading.get_ident())
        done.set()

    worker = threading.Thread(target=kernel.call, args=(record,))
    worker.start()
    worker.join()
    assert done.wait(5)
    assert threads == [kernel.thread_id]


def test_every_repeats_on_the_loop_until_stopped(loop_thread: asyncio.AbstractEventLoop) -> None:
    kernel = _on_loop(loop_thread)
    ticks: list[int] = []
    stop = kernel.every(0.01, lambda: ticks.append(threading.get_ident()))
    time.sleep(0.2)
    stop()
    count = len(ticks)
    time.sleep(0.1)
    assert count >= 5 and len(ticks) <= count + 1
    assert set(ticks) == {kernel.thread_id}


def test_throttle_coalesces_a_flood_and_always_runs_after_the_last_request(
    loop_thread: asyncio.AbstractEventLoop,
) -> None:
    kernel = _on_loop(loop_thread)
    seen: list[int] = []
    state = {"value": 0}
    throttle = Throttle(kernel, lambda: seen.append(state["value"]), max_rate=20)
    start = time.monotonic()
    for i in range(1, 5001):
        state["value"] = i
        throttle.request()
        if i % 100 == 0:
            time.sleep(0.005)
    elapsed = time.monotonic() - start
    time.sleep(0.2)
    assert seen[-1] == 5000
    assert len(seen) <= 20 * (elapsed + 0.2) + 2
    assert throttle.calls == len(seen)


def test_throttle_refuses_a_bad_rate() -> None:
    with pytest.raises(ValueError, match="max_rate must be > 0"):
        Throttle(KernelLoop(), lambda: None, 0)

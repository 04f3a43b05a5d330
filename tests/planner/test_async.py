"""suggest_async computes off the calling thread."""

from __future__ import annotations

import threading
import time

from smartlab_kernel.planner import Planner
from smartlab_kernel.planner.engine import Engine
from tests.planner.conftest import one_d, one_d_planner


def test_suggest_async_does_not_block() -> None:
    planner = one_d_planner()
    for s in planner.suggest(4):
        planner.observe(s, {"y": one_d(s.params)})
    release = threading.Event()
    callers: list[str] = []
    propose = planner._engine.propose

    def slow_propose(*args, **kwargs):  # type: ignore[no-untyped-def]
        callers.append(threading.current_thread().name)
        assert release.wait(10)
        return propose(*args, **kwargs)

    planner._engine.propose = slow_propose  # type: ignore[method-assign]
    start = time.perf_counter()
    future = planner.suggest_async(n=2)
    assert time.perf_counter() - start < 0.5
    assert not future.done()
    release.set()
    suggestions = future.result(timeout=30)
    assert len(suggestions) == 2 and suggestions[0].predicted is not None
    assert callers and callers[0] != threading.current_thread().name
    assert isinstance(planner._engine, Engine | object)
    planner.close()


def test_concurrent_async_batches_do_not_collide() -> None:
    planner: Planner = one_d_planner()
    for s in planner.suggest(4):
        planner.observe(s, {"y": one_d(s.params)})
    futures = [planner.suggest_async(n=1) for _ in range(3)]
    xs = [f.result(timeout=60)[0].params["x"] for f in futures]
    assert len(planner.pending) == 3
    assert min(abs(a - b) for i, a in enumerate(xs) for b in xs[i + 1 :]) > 1e-3
    planner.close()

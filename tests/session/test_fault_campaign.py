"""The randomized fault campaign, short: a few seeded trials, every invariant after each.

``benchmarks/fault_campaign.py`` runs the long one (500 trials).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from smartlab_kernel.testing.fault_campaign import run_fault_campaign


@pytest.mark.slow
def test_seeded_fault_trials_break_no_invariant(tmp_path: Path) -> None:
    results = run_fault_campaign(6, tmp_path, seed=20261204, kill_every=3)
    assert [r.kind for r in results].count("kill") == 2
    injected = {f.split(" ")[0] for r in results for f in r.faults}
    assert len(injected) >= 3, injected  # the seed covers several kinds of fault
    violations = [(r.trial, r.faults, v) for r in results for v in r.violations]
    assert violations == []

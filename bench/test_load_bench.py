"""Smoke test of python -m bench.load at the tiniest sizes: pytest bench/test_load_bench.py."""

from __future__ import annotations

import dataclasses

import pytest

from bench import load

TINY = dataclasses.replace(
    load.QUICK,
    mode="tiny",
    concurrency=8,
    warmup=0.2,
    duration=1.0,
    agents=5,
    latency_duration=1.0,
    memory_agents=20,
    memory_contacts=2000,  # enough that Redis's own buffers do not swamp the per-contact figure
)


@pytest.mark.slow
@pytest.mark.timeout(600)  # a shared machine may be slow; the run itself takes about 20 s
def test_load_benchmark_reports_every_figure() -> None:
    out = load.run(TINY)
    for key in load.KEYS:
        assert isinstance(out[key], float | int), key
        assert out[key] > 0, key
    assert out["restart_queued_after"] == out["restart_queued_before"] == TINY.memory_contacts
    assert out["latency_not_offered"] == 0
    assert "TINY run" in load.report(out)

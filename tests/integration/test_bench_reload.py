"""bench.reload: a router with queued contacts, reloaded, every contact still there."""

from __future__ import annotations

from bench.reload import measure


async def test_bench_reload_times_each_round_with_every_contact_rebuilt() -> None:
    found = await measure(contacts=300, rounds=2)  # it checks each round rebuilt all 300
    assert found["reload_s_min"] > 0

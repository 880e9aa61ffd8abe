"""When Redis has lost its scripts (a restart without them): calls that met that are run again
where nothing sent after them depends on them, refused where something may, and never lost."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from router.config import load_config_text
from router.store import Store
from tests.unit.engine_kit import BASE

CONFIG = load_config_text(BASE, "store.yaml")


@pytest.fixture
async def store(client: aioredis.Redis) -> Store:
    """A store whose lines are connected, its scripts loaded, then flushed from Redis."""
    s = Store(client, CONFIG)
    await s.load_scripts()
    for intake in (True, False):
        await s.outcomes(await s.send_all([], intake=intake))
    await client.script_flush()
    return s


async def exists(store: Store, ix: str) -> bool:
    return bool(await store.client.exists(store.keys.interaction(ix)))


async def test_run_all_runs_such_calls_again(store: Store) -> None:
    (outcome,) = await store.run_all([store.ops.enqueue("i1", "support", {}, None)])
    assert outcome.ok and await exists(store, "i1")


async def test_a_batch_given_its_ops_again_runs_them_again(store: Store) -> None:
    ops = [store.ops.enqueue("i1", "support", {}, None)]
    (outcome,) = await store.outcomes(await store.send_all(ops, intake=True), rerun=ops)
    assert outcome.ok and await exists(store, "i1")


async def test_a_batch_not_given_its_ops_is_refused_and_writes_nothing(store: Store) -> None:
    ops = [store.ops.enqueue("i1", "support", {}, None)]
    (outcome,) = await store.outcomes(await store.send_all(ops))
    assert not outcome.ok and not await exists(store, "i1")


async def test_the_next_batch_finds_the_scripts_loaded(store: Store) -> None:
    await store.outcomes(await store.send_all([store.ops.enqueue("i1", "support", {}, None)]))
    (outcome,) = await store.outcomes(
        await store.send_all([store.ops.enqueue("i2", "support", {}, None)])
    )
    assert outcome.ok and await exists(store, "i2")

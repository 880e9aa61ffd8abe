"""The store against a real Redis: ingest is atomic, durable and idempotent."""

from __future__ import annotations

import redis.asyncio as aioredis

from router.keys import Keys
from router.store import Ingested, Store

KEYS = Keys("t1")


async def test_ingest_creates_a_queued_interaction(client: aioredis.Redis) -> None:
    store = Store(client, KEYS)
    await store.enqueue("i1", "billing", {"channel": "chat"}, "idem-1")
    fields = await store.interaction("i1")
    assert (fields["state"], fields["queue"], fields["channel"]) == ("queued", "billing", "chat")


async def test_ingest_puts_the_interaction_in_its_queue(client: aioredis.Redis) -> None:
    store = Store(client, KEYS)
    await store.enqueue("i1", "billing", {}, "idem-1")
    await store.enqueue("i2", "billing", {}, "idem-2")
    assert await client.zrange(KEYS.queue("billing"), 0, -1) == [b"i1", b"i2"]


async def test_repeated_idempotency_key_returns_the_first_interaction(
    client: aioredis.Redis,
) -> None:
    store = Store(client, KEYS)
    await store.enqueue("i1", "billing", {}, "same")
    assert await store.enqueue("i2", "billing", {}, "same") == Ingested("i1", created=False)


async def test_repeated_idempotency_key_writes_nothing(client: aioredis.Redis) -> None:
    store = Store(client, KEYS)
    await store.enqueue("i1", "billing", {}, "same")
    await store.enqueue("i2", "billing", {}, "same")
    assert (await client.exists(KEYS.interaction("i2")), await client.xlen(KEYS.events)) == (0, 1)


async def test_ingest_records_an_event(client: aioredis.Redis) -> None:
    store = Store(client, KEYS)
    await store.enqueue("i1", "billing", {}, "idem-1")
    entries = await client.xrange(KEYS.events) or []
    assert [fields for _, fields in entries] == [{b"type": b"queued", b"id": b"i1"}]

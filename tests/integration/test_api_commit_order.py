"""Commit before effect while turns overlap: whatever a client is told is already in Redis.

Redis's writes are paused now and then (reads still run), so that a client told anything
before its commit ran would read the state from before it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest_asyncio
import redis.asyncio as aioredis

from router.keys import Keys
from router.redis_client import connect
from tests.integration.api_kit import Api, frames_until, start_api, stop_api

KEYS = Keys("api")  # the tenant of api_kit's routing file
AGENTS = [f"a{n}" for n in range(6)]
CONTACTS = 200


class Seen:
    """The state Redis held for an interaction the moment a client learnt of it."""

    def __init__(self) -> None:
        self.created: list[str | None] = []
        self.offered: list[str | None] = []
        self.accepted: list[str | None] = []


async def state(redis: aioredis.Redis, interaction_id: str) -> str | None:
    value = await redis.hget(KEYS.interaction(interaction_id), "state")
    return value.decode() if isinstance(value, bytes) else value


async def desk(api: Api, agent_id: str, seen: Seen, done: asyncio.Event) -> None:
    """Reads Redis on each offer, accepts it, reads Redis again, then completes it."""
    ws = await api.stream(agent_id)
    try:
        async for frame in frames_until(ws, done):
            if frame["type"] != "offer":
                continue
            ix = frame["interaction_id"]
            seen.offered.append(await state(api.redis, ix))
            status, _ = await api.call("POST", f"/v1/offers/{frame['offer_id']}/accept")
            if status == 200:
                seen.accepted.append(await state(api.redis, ix))
                await api.call("POST", f"/v1/interactions/{ix}/complete")
    finally:
        await ws.close()


async def pause_writes(redis: aioredis.Redis, done: asyncio.Event) -> None:
    """Pause every client's writes for 20 ms in each 40 ms, until done."""
    while not done.is_set():
        await redis.client_pause(20, all=False)  # CLIENT PAUSE 20 WRITE
        await asyncio.sleep(0.04)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def seen(redis_url: str) -> AsyncIterator[Seen]:
    """One run of concurrent contacts and desks, with what each client saw in Redis."""
    client = connect(redis_url)
    await client.flushdb()
    api = await start_api(client)
    found = Seen()
    try:
        for agent in AGENTS:
            await api.agent(agent, {"en": 3})
        done = asyncio.Event()
        desks = [asyncio.create_task(desk(api, a, found, done)) for a in AGENTS]
        desks.append(asyncio.create_task(pause_writes(client, done)))
        gate = asyncio.Semaphore(32)

        async def post(n: int) -> None:
            async with gate:
                ix = await api.contact(channel="chat", customer=f"c{n}")
                found.created.append(await state(api.redis, ix))

        await asyncio.gather(*(post(n) for n in range(CONTACTS)))
        for _ in range(300):
            if len(found.accepted) >= CONTACTS:
                break
            await asyncio.sleep(0.05)
        done.set()
        await asyncio.gather(*desks)
    finally:
        await stop_api(api)
        await client.aclose()
    yield found


def test_every_contact_answered_201_is_in_redis(seen: Seen) -> None:
    assert len(seen.created) == CONTACTS
    assert None not in seen.created


def test_every_offer_a_desk_receives_is_committed(seen: Seen) -> None:
    assert len(seen.offered) >= CONTACTS
    assert set(seen.offered) <= {"offered"}


def test_every_accept_answered_is_committed(seen: Seen) -> None:
    assert len(seen.accepted) == CONTACTS
    assert set(seen.accepted) <= {"assigned"}

"""Many concurrent ingests, accepts and rejects: no contact offered to two agents at once,
no agent over its capacity (read back from the event stream and the agent hashes)."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import aiohttp
import redis.asyncio as aioredis

from tests.integration.api_kit import Api, start_api, stop_api

AGENTS = [f"a{n}" for n in range(8)]
CONTACTS = 300


async def _desk(api: Api, agent_id: str, rng: random.Random, done: asyncio.Event) -> None:
    """An agent that accepts or rejects each offer at random and completes what it accepts."""
    ws = await api.stream(agent_id)
    try:
        while not done.is_set():
            try:
                msg = await asyncio.wait_for(ws.receive(), 0.2)
            except TimeoutError:
                continue
            if msg.type != aiohttp.WSMsgType.TEXT:
                return
            await _act(api, msg.json(), rng)
    finally:
        await ws.close()


async def _act(api: Api, frame: dict[str, Any], rng: random.Random) -> None:
    if frame["type"] != "offer":
        return
    verb = "accept" if rng.random() < 0.7 else "reject"
    status, _ = await api.call("POST", f"/v1/offers/{frame['offer_id']}/{verb}")
    if verb == "accept" and status == 200:
        await api.call("POST", f"/v1/interactions/{frame['interaction_id']}/complete")


async def _run(api: Api) -> None:
    rng = random.Random(7)
    for n, agent in enumerate(AGENTS):
        await api.agent(agent, {"en": 1 + n % 5})
    done = asyncio.Event()
    desks = [
        asyncio.create_task(_desk(api, a, random.Random(n), done)) for n, a in enumerate(AGENTS)
    ]
    sem = asyncio.Semaphore(32)

    async def post(n: int) -> None:
        async with sem:
            await api.contact(channel=rng.choice(["chat", "voice"]), customer=f"c{n}")

    await asyncio.gather(*(post(n) for n in range(CONTACTS)))
    for _ in range(200):
        if not await api.redis.scard(api.router.store.keys.live):
            break
        await asyncio.sleep(0.1)
    done.set()
    await asyncio.gather(*desks)


async def test_no_contact_is_offered_to_two_agents_at_once(client: aioredis.Redis) -> None:
    api = await start_api(client)
    try:
        await _run(api)
        entries = await client.xrange(api.router.store.keys.events)
    finally:
        await stop_api(api)
    holder: dict[bytes, bytes] = {}
    overlaps = 0
    for _, f in entries:
        ix, kind = f.get(b"id"), f[b"type"]
        if kind == b"offered":
            overlaps += ix in holder
            holder[ix] = f[b"agent"]
        elif kind in (b"requeued", b"done", b"abandoned", b"expired"):
            holder.pop(ix, None)
    assert overlaps == 0 and sum(1 for _, f in entries if f[b"type"] == b"done") == CONTACTS


async def test_no_agent_is_loaded_past_capacity(client: aioredis.Redis) -> None:
    api = await start_api(client)
    try:
        await _run(api)
        entries = await client.xrange(api.router.store.keys.events)
    finally:
        await stop_api(api)
    cost = {b"chat": 25, b"voice": 100}
    channel_of: dict[bytes, bytes] = {}
    load: dict[bytes, int] = {}
    worst = 0
    for _, f in entries:
        ix, kind = f.get(b"id"), f[b"type"]
        if kind == b"offered":
            channel_of[ix] = f[b"agent"]
    # Replaying the stream with each interaction's channel needs the hashes: read them back.
    channels = {ix: await client.hget(api.router.store.keys.interaction(ix.decode()), "channel")
                for ix in channel_of}  # fmt: skip
    for _, f in entries:
        ix, kind = f.get(b"id"), f[b"type"]
        if kind == b"offered":
            load[f[b"agent"]] = load.get(f[b"agent"], 0) + cost[channels[ix]]
            channel_of[ix] = f[b"agent"]
            worst = max(worst, load[f[b"agent"]])
        elif kind in (b"requeued", b"done"):
            agent = f.get(b"agent") or channel_of[ix]
            load[agent] -= cost[channels[ix]]
    assert worst <= 100 and all(v == 0 for v in load.values())

"""Many concurrent ingests, accepts and rejects: no contact offered to two agents at once,
no agent over its capacity (read back from the event stream and the agent hashes)."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import redis.asyncio as aioredis

from router.store import text
from tests.integration.api_kit import Api, frames_until, start_api, stop_api

AGENTS = [f"a{n}" for n in range(8)]
CONTACTS = 300


async def _desk(api: Api, agent_id: str, rng: random.Random, done: asyncio.Event) -> None:
    """An agent that accepts or rejects each offer at random and completes what it accepts."""
    ws = await api.stream(agent_id)
    try:
        async for frame in frames_until(ws, done):
            await _act(api, frame, rng)
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


async def _history(client: aioredis.Redis) -> tuple[list[dict[str, str]], dict[str, str]]:
    """Run the race; the event stream (decoded) and each interaction's channel."""
    api = await start_api(client)
    try:
        await _run(api)
        entries: Any = await client.xrange(api.router.store.keys.events)
        events = [{text(k): text(v) for k, v in f.items()} for _, f in entries]
        ids = {e["id"] for e in events if e["type"] == "queued"}
        keys = api.router.store.keys
        channels = {ix: text(await client.hget(keys.interaction(ix), "channel")) for ix in ids}
    finally:
        await stop_api(api)
    return events, channels


async def test_no_contact_is_offered_to_two_agents_at_once(client: aioredis.Redis) -> None:
    events, _ = await _history(client)
    holder: dict[str, str] = {}
    overlaps = 0
    for ev in events:
        if ev["type"] == "offered":
            overlaps += ev["id"] in holder
            holder[ev["id"]] = ev["agent"]
        elif ev["type"] in ("requeued", "done", "abandoned", "expired"):
            holder.pop(ev["id"], None)
    assert overlaps == 0 and sum(ev["type"] == "done" for ev in events) == CONTACTS


async def test_no_agent_is_loaded_past_capacity(client: aioredis.Redis) -> None:
    events, channels = await _history(client)
    cost = {"chat": 25, "voice": 100}
    with_agent: dict[str, str] = {}
    load = dict.fromkeys(AGENTS, 0)
    worst = 0
    for ev in events:
        if ev["type"] == "offered":
            with_agent[ev["id"]] = ev["agent"]
            load[ev["agent"]] += cost[channels[ev["id"]]]
            worst = max(worst, load[ev["agent"]])
        elif ev["type"] in ("requeued", "done"):
            load[with_agent.pop(ev["id"])] -= cost[channels[ev["id"]]]
    assert worst <= 100 and set(load.values()) == {0}

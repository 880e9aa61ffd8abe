"""A claim checks the agent's room as the routing file says: blocking channels, each channel's
limit (the agent's own cap first), and the load of the channels that count against it."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from router.config import load_config_text
from router.errors import Conflict
from router.store import Store
from router.transitions import OfferRef
from tests.unit.engine_kit import BASE

# voice blocks voice, chat and e-mail; chat blocks voice; voice may interrupt e-mail.
CONFIG = load_config_text(BASE, "store.yaml")


@pytest.fixture
def store(client: aioredis.Redis) -> Store:
    return Store(client, CONFIG)


async def claim(store: Store, channel: str) -> None:
    """Queue i1 on `channel` and offer it to agent a."""
    await store.enqueue("i1", "support", {"channel": channel}, None)
    await store.claim(OfferRef("i1", "support", channel, "a", "o1"), 1020.0)


async def agent(store: Store, capacity: int, caps: dict[str, int] | None = None, **n: int) -> None:
    """Agent a, available, with `n` interactions open on each named channel."""
    await store.put_agent("a", "available", capacity, caps or {})
    if n:
        await store.client.hset(store.keys.agent("a"), mapping={f"n:{c}": k for c, k in n.items()})


async def test_work_on_a_blocking_channel_refuses_the_claim(store: Store) -> None:
    await agent(store, 1000, voice=1)
    with pytest.raises(Conflict, match="busy on voice"):
        await claim(store, "chat")


async def test_an_agent_at_the_channels_limit_is_refused(store: Store) -> None:
    await agent(store, 1000, chat=3)
    with pytest.raises(Conflict, match="chat limit"):
        await claim(store, "chat")


async def test_the_agents_own_cap_wins_over_the_channels_limit(store: Store) -> None:
    await agent(store, 1000, {"chat": 5}, chat=3)
    await claim(store, "chat")
    assert (await store.interaction("i1"))["state"] == "offered"


async def test_a_lower_own_cap_refuses_below_the_channels_limit(store: Store) -> None:
    await agent(store, 1000, {"chat": 1}, chat=1)
    with pytest.raises(Conflict, match="chat limit"):
        await claim(store, "chat")


async def test_load_on_channels_that_count_fills_the_capacity(store: Store) -> None:
    await agent(store, 100, email=4)  # 80 of 100 used: a chat's 25 does not fit
    with pytest.raises(Conflict, match="capacity"):
        await claim(store, "chat")


async def test_work_the_channel_may_interrupt_does_not_count(store: Store) -> None:
    await agent(store, 100, email=5)  # full with e-mail, which voice may interrupt
    await claim(store, "voice")
    assert (await store.interaction("i1"))["state"] == "offered"


async def test_a_claim_adds_to_the_agents_channel_count_and_holds_its_offer(store: Store) -> None:
    await agent(store, 1000, chat=2)
    await claim(store, "chat")
    fields = await store.client.hmget(store.keys.agent("a"), ["n:chat", "offer"])
    assert fields == [b"3", b"o1"]


async def test_each_channels_load_counts_at_its_own_cost(store: Store) -> None:
    await agent(store, 95, chat=2, email=1)  # 2 x 25 + 20 = 70 used: a chat's 25 just fits
    await claim(store, "chat")
    assert (await store.interaction("i1"))["state"] == "offered"


async def test_a_chat_one_unit_past_the_capacity_is_refused(store: Store) -> None:
    await agent(store, 94, chat=2, email=1)  # 70 used: 70 + 25 > 94
    with pytest.raises(Conflict, match="capacity"):
        await claim(store, "chat")

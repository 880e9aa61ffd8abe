"""The store against a real Redis: ingest is idempotent, offers are compare-and-set."""

from __future__ import annotations

import asyncio
import random
from contextlib import aclosing

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ResponseError

import router.rebuild
from router.clock import VirtualClock
from router.config import load_config_text
from router.engine import Engine
from router.errors import Conflict
from router.rebuild import rebuild
from router.store import Ingested, Store, pairs
from router.transitions import OfferRef
from tests.unit.engine_kit import BASE

CONFIG = load_config_text(BASE, "store.yaml")
KEYS_T = CONFIG.tenant


@pytest.fixture
def store(client: aioredis.Redis) -> Store:
    return Store(client, CONFIG)


def _ref(ix: str, agent: str, offer: str = "", channel: str = "voice") -> OfferRef:
    return OfferRef(ix, "support", channel, agent, offer or f"{ix}/{agent}")


async def _queued(store: Store, *ids: str) -> None:
    for ix in ids:
        await store.enqueue(ix, "support", {"channel": "voice"}, f"k-{ix}")


async def test_ingest_creates_a_queued_interaction(store: Store) -> None:
    await store.enqueue("i1", "billing", {"channel": "chat"}, "idem-1")
    fields = await store.interaction("i1")
    assert (fields["state"], fields["queue"], fields["channel"]) == ("queued", "billing", "chat")


async def test_ingest_puts_the_interaction_in_its_queue(store: Store) -> None:
    await store.enqueue("i1", "billing", {}, "idem-1")
    await store.enqueue("i2", "billing", {}, "idem-2")
    assert await store.client.zrange(store.keys.queue("billing"), 0, -1) == [b"i1", b"i2"]


async def test_repeated_idempotency_key_returns_the_first_interaction(store: Store) -> None:
    await store.enqueue("i1", "billing", {}, "same")
    assert await store.enqueue("i2", "billing", {}, "same") == Ingested("i1", created=False)


async def test_repeated_idempotency_key_writes_nothing(store: Store) -> None:
    await store.enqueue("i1", "billing", {}, "same")
    await store.enqueue("i2", "billing", {}, "same")
    written = (
        await store.client.exists(store.keys.interaction("i2")),
        await store.client.xlen(store.keys.events),
    )
    assert written == (0, 1)


async def test_ingest_records_an_event(store: Store) -> None:
    await store.enqueue("i1", "billing", {}, "idem-1")
    entries = await store.client.xrange(store.keys.events) or []
    assert [fields for _, fields in entries] == [{b"type": b"queued", b"id": b"i1"}]


async def test_claim_offers_the_interaction(store: Store) -> None:
    await _queued(store, "i1")
    await store.put_agent("a", "available", 100, {})
    await store.claim(_ref("i1", "a"), 1020.0)
    fields = await store.interaction("i1")
    assert (fields["state"], fields["agent"]) == ("offered", "a")


async def test_an_offered_interaction_cannot_be_claimed_again(store: Store) -> None:
    await _queued(store, "i1")
    await store.put_agent("a", "available", 100, {})
    await store.put_agent("b", "available", 100, {})
    await store.claim(_ref("i1", "a"), 1020.0)
    with pytest.raises(Conflict):
        await store.claim(_ref("i1", "b"), 1020.0)


async def test_claim_refuses_an_agent_without_room(store: Store) -> None:
    await _queued(store, "i1")
    await store.put_agent("a", "available", 50, {})
    with pytest.raises(Conflict, match="capacity"):
        await store.claim(_ref("i1", "a"), 1020.0)


async def test_refused_claim_writes_nothing(store: Store) -> None:
    await _queued(store, "i1")
    await store.put_agent("a", "break", 100, {})
    with pytest.raises(Conflict):
        await store.claim(_ref("i1", "a"), 1020.0)
    assert (await store.interaction("i1"))["state"] == "queued"


async def test_accept_assigns(store: Store) -> None:
    await _queued(store, "i1")
    await store.put_agent("a", "available", 100, {})
    await store.claim(_ref("i1", "a"), 1020.0)
    await store.accept(_ref("i1", "a"))
    assert (await store.interaction("i1"))["state"] == "assigned"


async def test_release_requeues_at_the_original_position(store: Store) -> None:
    await _queued(store, "i1", "i2")
    await store.put_agent("a", "available", 100, {})
    await store.claim(_ref("i1", "a"), 1020.0)
    await store.release(_ref("i1", "a"), "rejected")
    assert await store.client.zrange(store.keys.queue("support"), 0, -1) == [b"i1", b"i2"]


async def _claim_and_release(store: Store, agent: str, *, fresh: bool) -> None:
    ref = _ref("i1", agent, f"o-{agent}")
    await store.claim(ref, 1020.0)
    await store.run(store.ops.release(ref, "rejected", b"", fresh=fresh))


async def test_release_adds_the_agent_to_the_exclusions(store: Store) -> None:
    await _queued(store, "i1")
    for agent in ("a", "b"):
        await store.put_agent(agent, "available", 100, {})
        await _claim_and_release(store, agent, fresh=False)
    assert (await store.interaction("i1"))["excluded"] == "a,b"


async def test_a_fresh_release_keeps_only_its_agent_and_counts_the_round(store: Store) -> None:
    await _queued(store, "i1")
    for agent, fresh in (("a", False), ("b", True)):
        await store.put_agent(agent, "available", 100, {})
        await _claim_and_release(store, agent, fresh=fresh)
    fields = await store.interaction("i1")
    assert (fields["excluded"], fields["rounds"]) == ("b", "1")


async def test_a_rebuilt_engine_has_the_round_and_its_exclusions(store: Store) -> None:
    await _queued(store, "i1")
    for agent, fresh in (("a", False), ("b", True)):
        await store.put_agent(agent, "available", 100, {})
        await _claim_and_release(store, agent, fresh=fresh)
    engine = Engine(CONFIG, VirtualClock(1000.0))
    await rebuild(engine, store)
    task = engine.task("i1")
    assert (task.excluded, task.rounds) == (frozenset({"b"}), 1)


async def test_accepting_a_released_offer_is_refused(store: Store) -> None:
    await _queued(store, "i1")
    await store.put_agent("a", "available", 100, {})
    await store.claim(_ref("i1", "a"), 1020.0)
    await store.release(_ref("i1", "a"), "expired")
    with pytest.raises(Conflict):
        await store.accept(_ref("i1", "a"))


async def test_concurrent_claims_never_double_book(client: aioredis.Redis, redis_url: str) -> None:
    """Many writers on separate connections race; Redis lets exactly the valid claims through."""
    tasks = [f"i{n}" for n in range(30)]
    agents = [f"a{n}" for n in range(6)]
    writers = [Store(aioredis.Redis.from_url(redis_url), CONFIG) for _ in range(8)]
    await _queued(writers[0], *tasks)
    for agent in agents:
        await writers[0].put_agent(agent, "available", 100, {"chat": 3})
    rng = random.Random(4)

    async def attempt(n: int) -> None:
        w = writers[n % len(writers)]
        ix, agent = rng.choice(tasks), rng.choice(agents)
        ref = _ref(ix, agent, f"o{n}", channel=rng.choice(["voice", "chat"]))
        try:
            await w.claim(ref, 1020.0)
            if rng.random() < 0.5:
                await w.release(ref, "rejected")
        except Conflict:
            pass

    await asyncio.gather(*(attempt(n) for n in range(600)))
    holders: dict[str, str] = {}
    for ix in tasks:
        fields = await writers[0].interaction(ix)
        if fields["state"] == "offered":
            holders[ix] = fields["agent"]
    load = 0
    for agent in agents:
        counts = await client.hmget(writers[0].keys.agent(agent), ["n:voice", "n:chat"])
        load += sum(int(c or 0) for c in counts)
    for w in writers:
        await w.client.aclose()
    # One open offer per agent (so none past capacity, no task with two agents), and the
    # agents' load counters agree with the offers that are open.
    assert sorted(holders.values()) == sorted(set(holders.values())) and load == len(holders)


async def _assigned(store: Store, ix: str, agent: str) -> OfferRef:
    await _queued(store, ix)
    await store.put_agent(agent, "available", 100, {})
    ref = _ref(ix, agent)
    await store.claim(ref, 1020.0)
    await store.accept(ref)
    return ref


async def _load(store: Store, agent: str) -> int:
    return int(await store.client.hget(store.keys.agent(agent), "n:voice") or 0)


async def test_complete_without_wrap_up_releases_the_agent(store: Store) -> None:
    ref = await _assigned(store, "i1", "a")
    assert (await store.complete(ref, 0), await _load(store, "a")) == ("done", 0)


async def test_wrap_up_keeps_the_load_until_it_ends(store: Store) -> None:
    ref = await _assigned(store, "i1", "a")
    await store.complete(ref, 1050.0)
    held = await _load(store, "a")
    await store.finish(ref, "done", "wrap_up_ended", ["wrap_up"])
    assert (held, await _load(store, "a")) == (1, 0)


async def test_abandon_of_a_queued_contact_leaves_the_queue(store: Store) -> None:
    await _queued(store, "i1")
    await store.finish(_ref("i1", ""), "abandoned", "customer", ["queued", "offered", "assigned"])
    assert await store.client.zcard(store.keys.queue("support")) == 0


async def test_abandon_of_an_offered_contact_frees_the_agent(store: Store) -> None:
    await _queued(store, "i1")
    await store.put_agent("a", "available", 100, {})
    ref = _ref("i1", "a")
    await store.claim(ref, 1020.0)
    await store.finish(ref, "abandoned", "customer", ["queued", "offered", "assigned"])
    offer_left = await store.client.hget(store.keys.agent("a"), "offer")
    assert (await _load(store, "a"), offer_left) == (0, None)


async def test_finished_interaction_leaves_the_live_set(store: Store) -> None:
    ref = await _assigned(store, "i1", "a")
    await store.complete(ref, 0)
    assert await store.client.sismember(store.keys.live, "i1") == 0


async def test_finish_from_an_unexpected_state_is_refused(store: Store) -> None:
    ref = await _assigned(store, "i1", "a")
    with pytest.raises(Conflict):
        await store.finish(ref, "expired", "max_wait", ["queued"])


async def test_withdraw_undoes_an_enqueue(store: Store) -> None:
    op = store.ops.enqueue("i1", "support", {"channel": "voice"}, "k-1")
    await store.run(op)
    await store.run(store.ops.withdraw(op))
    left = (await store.interaction("i1"), await store.client.scard(store.keys.live),
            await store.client.exists(store.keys.idempotency("k-1")))  # fmt: skip
    assert left == ({}, 0, 0)


async def test_withdraw_leaves_a_routed_contact_alone(store: Store) -> None:
    op = store.ops.enqueue("i1", "support", {"channel": "voice"}, "k-1")
    await store.run(op)
    await store.put_agent("a", "available", 100, {})
    await store.claim(_ref("i1", "a"), 1020.0)
    with pytest.raises(Conflict):
        await store.run(store.ops.withdraw(op))


async def test_a_session_owner_is_read_back_until_its_time(store: Store) -> None:
    await store.run(store.ops.session("s-1", "a1", until=200.0, now=100.0))
    assert await store.session_owners(now=150.0) == {"s-1": ("a1", 200.0)}


async def test_a_session_owner_past_its_time_is_pruned(store: Store) -> None:
    await store.run(store.ops.session("s-1", "a1", until=200.0, now=100.0))
    await store.run(store.ops.session("s-2", "a2", until=400.0, now=300.0))
    assert await store.client.hkeys(store.keys.session_owners) == [b"s-2"]


async def test_hashes_reads_the_fields_of_each_hash_batch_by_batch(store: Store) -> None:
    for n in range(3):
        await store.client.hset(f"h{n}", mapping={"a": n, "c": "x"})
    chunks = [["h0", "h1"], ["h2", "missing"]]
    async with aclosing(store.hashes(chunks, ("a", "b"))) as got:
        batches = [batch async for batch in got]
    assert batches == [[[b"0", None], [b"1", None]], [[b"2", None], [None, None]]]


async def test_hashes_without_fields_reads_whole_hashes(store: Store) -> None:
    await store.client.hset("h", mapping={"a": "1", "b": "2"})
    async with aclosing(store.hashes([["h"]])) as got:
        [[found]] = [batch async for batch in got]
    assert pairs(found) == {"a": "1", "b": "2"}


async def test_hashes_raises_an_error_reply(store: Store) -> None:
    await store.client.set("s", "not a hash")
    with pytest.raises(ResponseError):
        async with aclosing(store.hashes([["s"]], ("a",))) as got:
            await anext(got)


async def test_a_rebuild_reads_every_interaction_and_agent_over_many_batches(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(router.rebuild, "CHUNK", 3)
    monkeypatch.setattr(router.rebuild, "YIELD_EVERY", 2)
    ids = [f"i{n:02}" for n in range(20)]
    await _queued(store, *ids)
    for n in range(7):
        await store.put_agent(f"a{n}", "break", 100, {})
    engine = Engine(CONFIG, VirtualClock(1000.0))
    await rebuild(engine, store)
    assert (sorted(engine.tasks), len(engine.roster)) == (ids, 7)

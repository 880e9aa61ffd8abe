"""Restart: the engine is rebuilt from Redis; waiting work is routed, stale offers requeued."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from router import events as e
from router.decisions import Decision
from tests.integration.api_kit import NO_BILLING, next_frame, start_api, stop_api


async def test_contacts_waiting_at_a_restart_are_routed_after_it(client: aioredis.Redis) -> None:
    api = await start_api(client)
    ids = {await api.contact(channel="chat") for _ in range(3)}
    await stop_api(api)
    api = await start_api(client)
    try:
        await api.agent("a1", {"en": 3}, status="break")
        ws = await api.stream("a1")
        await api.call("POST", "/v1/agents/a1/status", {"status": "available"})
        offered = set()
        for _ in range(3):  # one open offer per agent at a time: accept each to get the next
            offer = await next_frame(ws, "offer")
            offered.add(offer["interaction_id"])
            await api.call("POST", f"/v1/offers/{offer['offer_id']}/accept")
    finally:
        await stop_api(api)
    assert offered == ids


async def test_an_agent_keeps_its_assignment_across_a_restart(client: aioredis.Redis) -> None:
    api = await start_api(client)
    await api.agent("a1", {"en": 3})
    ws = await api.stream("a1")
    ix = await api.contact(channel="voice")
    offer = await next_frame(ws, "offer")
    await api.call("POST", f"/v1/offers/{offer['offer_id']}/accept")
    await stop_api(api)
    api = await start_api(client)
    try:
        status, answer = await api.call("POST", f"/v1/interactions/{ix}/complete")
    finally:
        await stop_api(api)
    assert (status, answer["state"]) == (200, "done")


async def test_a_restart_on_a_file_without_an_agents_skill_keeps_the_agent(
    client: aioredis.Redis,
) -> None:
    api = await start_api(client)
    await api.agent("a1", {"en": 3, "billing": 2})
    await stop_api(api)
    api = await start_api(client, edits=NO_BILLING)
    try:
        skills = (await api.call("GET", "/v1/agents/a1"))[1]["skills"]
    finally:
        await stop_api(api)
    assert skills == {"en": 3}


async def test_an_agent_keeps_its_name_across_a_restart(client: aioredis.Redis) -> None:
    api = await start_api(client)
    await api.call("PUT", "/v1/agents/a1", {"name": "Ada Lovelace", "skills": {"en": 3}})
    await stop_api(api)
    api = await start_api(client)
    try:
        _, shown = await api.call("GET", "/v1/agents/a1")
    finally:
        await stop_api(api)
    assert shown["name"] == "Ada Lovelace"


async def test_a_session_stays_with_its_agent_across_a_restart(client: aioredis.Redis) -> None:
    api = await start_api(client)
    await api.agent("a1", {"en": 3})
    ws = await api.stream("a1")
    first = await api.contact(channel="chat", session="s-1")
    offer = await next_frame(ws, "offer")
    await api.call("POST", f"/v1/offers/{offer['offer_id']}/accept")
    await api.call("POST", f"/v1/interactions/{first}/complete")
    await stop_api(api)
    api = await start_api(client)
    try:
        ws = await api.stream("a1")
        later = await api.contact(channel="chat", session="s-1")
        await next_frame(ws, "offer")
        _, shown = await api.call("GET", f"/v1/interactions/{later}")
    finally:
        await stop_api(api)
    assert shown["explain"]["rule"] == "sticky"


async def _offer_run_out_while_stopped(client: aioredis.Redis) -> str:
    """Offer a contact to agent a1, then stop routerd until the offer's deadline has passed;
    the contact's id."""
    api = await start_api(client, offer_timeout="1s")
    await api.agent("a1", {"en": 3})
    ws = await api.stream("a1")
    ix = await api.contact(channel="chat")
    offer = await next_frame(ws, "offer")
    await stop_api(api)
    await asyncio.sleep(max(0.0, offer["deadline"] - api.router.clock()) + 0.2)
    return ix


async def test_an_offer_whose_deadline_passed_during_a_restart_is_requeued(
    client: aioredis.Redis,
) -> None:
    ix = await _offer_run_out_while_stopped(client)
    api = await start_api(client, offer_timeout="1s")
    try:
        _, shown = await api.call("GET", f"/v1/interactions/{ix}")
    finally:
        await stop_api(api)
    assert (shown["state"], shown["agent"]) == ("queued", None)


async def test_an_offer_that_lapsed_during_a_restart_is_not_counted_as_missed(
    client: aioredis.Redis,
) -> None:
    await _offer_run_out_while_stopped(client)
    await stop_api(await start_api(client, offer_timeout="1s"))  # requeues the offer
    api = await start_api(client, offer_timeout="1s")
    try:
        _, shown = await api.call("GET", "/v1/agents/a1")
    finally:
        await stop_api(api)
    assert shown["missed_offers"] == 0


async def test_a_live_offer_keeps_its_deadline_across_a_restart(client: aioredis.Redis) -> None:
    api = await start_api(client)
    await api.agent("a1", {"en": 3})
    ws = await api.stream("a1")
    await api.contact(channel="chat")
    offer = await next_frame(ws, "offer")
    await stop_api(api)
    api = await start_api(client)
    try:
        kept = api.router.engine.offers[offer["offer_id"]].deadline
    finally:
        await stop_api(api)
    assert kept == offer["deadline"]


async def test_a_refused_commit_rebuilds_the_engine_from_redis(client: aioredis.Redis) -> None:
    api = await start_api(client)
    try:
        await api.agent("a1", {"en": 3})
        # Someone else changed Redis: the engine still thinks a1 is available.
        await client.hset(api.router.store.keys.agent("a1"), "status", "break")
        await api.contact(channel="chat")  # the claim for a1 is refused by Redis
        for _ in range(100):
            if api.router.engine.agent("a1").status == "break":
                break
            await asyncio.sleep(0.05)
        status = api.router.engine.agent("a1").status
    finally:
        await stop_api(api)
    assert status == "break"


async def test_a_turn_that_raises_is_rebuilt_and_its_stored_contact_routed(
    client: aioredis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = await start_api(client)
    try:
        await api.agent("a1", {"en": 3})
        ws = await api.stream("a1")
        engine = api.router.engine
        real = engine.handle
        raised: list[str] = []

        def bug_once(event: e.Event) -> list[Decision]:
            if isinstance(event, e.InteractionArrived) and not raised:
                raised.append(event.interaction_id)
                raise RuntimeError("a bug in the engine")
            return real(event)

        monkeypatch.setattr(engine, "handle", bug_once)
        ident = await api.contact(channel="chat")  # stored before the turn failed: accepted
        offer = await next_frame(ws, "offer")
    finally:
        await stop_api(api)
    assert raised == [ident] and offer["interaction_id"] == ident


async def test_a_bug_after_a_commit_answers_the_contact_and_routing_goes_on(
    client: aioredis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = await start_api(client)
    try:
        await api.agent("a1", {"en": 3})
        await api.agent("a2", {"en": 3})
        hub = api.router.publisher
        real = hub.publish
        raised: list[int] = []

        def bug_once(agent_id: str, seq: int, payload: bytes) -> None:
            if not raised:
                raised.append(seq)
                raise RuntimeError("a bug after the commit")
            real(agent_id, seq, payload)

        monkeypatch.setattr(hub, "publish", bug_once)
        first = await api.contact(channel="chat")  # its offer committed, its publish failed
        for _ in range(100):  # the engine is rebuilt from Redis meanwhile, answering 503s
            if (await api.call("GET", "/healthz"))[0] == 200:
                break
            await asyncio.sleep(0.05)
        second = await api.contact(channel="chat")
        state = await api.call("GET", f"/v1/interactions/{second}")
    finally:
        await stop_api(api)
    assert raised and first != second and state[1]["state"] == "offered"

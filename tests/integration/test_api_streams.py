"""The agent stream: sequence numbers, replay with ?since, timeouts, and the supervisor line."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import AsyncIterator, Sequence
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis
from aiohttp import WSCloseCode
from redis.exceptions import ConnectionError as RedisConnectionError

from router.api.context import CONTEXT
from router.redis_line import Sent
from router.store import Outcome
from router.transitions import Op
from tests.integration.api_kit import Api, next_frame, start_api, stop_api


@pytest.fixture
async def api(client: aioredis.Redis) -> AsyncIterator[Api]:
    running = await start_api(client, offer_timeout="1s")
    try:
        yield running
    finally:
        await stop_api(running)


async def test_an_unanswered_offer_expires_and_is_revoked(api: Api) -> None:
    await api.agent("a1", {"en": 3})
    ws = await api.stream("a1")
    ix = await api.contact(channel="chat")
    await next_frame(ws, "offer")
    revoked = await next_frame(ws, "offer_revoked")
    assert (revoked["interaction_id"], revoked["reason"]) == (ix, "expired")


async def test_an_expired_offer_goes_to_the_next_agent(api: Api) -> None:
    await api.agent("a1", {"en": 3})
    ws1 = await api.stream("a1")
    ix = await api.contact(channel="voice")
    await next_frame(ws1, "offer")
    await api.agent("a2", {"en": 3})
    ws2 = await api.stream("a2")
    assert (await next_frame(ws2, "offer"))["interaction_id"] == ix


async def test_sequence_numbers_rise_by_one(api: Api) -> None:
    await api.agent("a1", {"en": 3})
    ws = await api.stream("a1")
    await api.contact(channel="chat")
    await api.contact(channel="chat")
    seqs = [(await next_frame(ws, "offer"))["seq"]]
    await api.call("POST", "/v1/agents/a1/status", {"status": "break"})
    seqs += [(await next_frame(ws))["seq"] for _ in range(2)]  # revoke, status
    assert seqs == list(range(seqs[0], seqs[0] + 3))


async def test_a_reconnect_with_since_gets_what_it_missed(api: Api) -> None:
    await api.agent("a1", {"en": 3})
    ws = await api.stream("a1")
    await api.contact(channel="chat")
    offer = await next_frame(ws, "offer")
    await ws.close()
    await api.call("POST", f"/v1/offers/{offer['offer_id']}/accept")
    await api.call("POST", f"/v1/interactions/{offer['interaction_id']}/complete")
    again = await api.stream("a1", f"?since={offer['seq']}")
    missed = [await next_frame(again), await next_frame(again)]
    first = offer["seq"] + 1
    assert [(f["type"], f["seq"]) for f in missed] == [("assigned", first), ("ended", first + 1)]


async def test_a_reconnect_while_a_commit_lands_gets_the_events_not_the_hello(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    await api.agent("a1", {"en": 3}, status="break")
    ws = await api.http.ws_connect(f"{api.base}/v1/agents/a1/stream")
    since = (await next_frame(ws))["seq"]
    await ws.close()
    real, landed = api.router.store.client, []

    async def change_status() -> None:
        landed.append(True)
        await api.call("POST", "/v1/agents/a1/status", {"status": "meeting"})

    class CommitInBetween:
        """The store's client, with a commit landing right after the first XRANGE it reads."""

        def __getattr__(self, name: str) -> Any:
            attr = getattr(real, name)
            if name != "xrange":
                return attr

            async def xrange(*args: Any, **kw: Any) -> Any:
                read = await attr(*args, **kw)
                if not landed:
                    await change_status()
                return read

            return xrange

    store, replayed = api.router.store, asyncio.Event()
    missed_events = store.missed_events

    async def missed_then_tell(*args: Any) -> Any:
        try:
            return await missed_events(*args)
        finally:
            replayed.set()

    monkeypatch.setattr(store, "client", CommitInBetween())
    monkeypatch.setattr(store, "missed_events", missed_then_tell)
    again = await api.stream("a1", f"?since={since}")
    await asyncio.wait_for(replayed.wait(), 10)
    if not landed:  # the reads were one transaction: the commit lands after them
        await change_status()
    first = await next_frame(again)
    assert (first["type"], first["seq"]) == ("status", since + 1)


async def test_a_reconnect_past_the_kept_events_gets_the_hello(api: Api) -> None:
    await api.agent("a1", {"en": 3}, status="break")
    for status in ("available", "break", "available"):
        await api.call("POST", "/v1/agents/a1/status", {"status": status})
    key = api.router.store.keys.agent_events("a1")
    await api.redis.xtrim(key, maxlen=1, approximate=False)  # 2 and 3 gone
    again = await api.stream("a1", "?since=1")
    first = await next_frame(again)
    assert (first["type"], first["seq"], first["status"]) == ("hello", 4, "available")


async def test_a_reconnect_ahead_of_the_agents_seq_gets_the_hello_then_every_event(
    api: Api,
) -> None:
    await api.agent("a1", {"en": 3}, status="break")
    again = await api.stream("a1", "?since=1000")  # as after Redis lost its last writes
    hello = await next_frame(again)
    await api.call("POST", "/v1/agents/a1/status", {"status": "meeting"})
    status = await next_frame(again)
    assert (hello["type"], status["type"], status["seq"]) == ("hello", "status", hello["seq"] + 1)


async def test_a_desk_gets_the_offer_whose_commit_routerd_gave_up_on(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    await answers_lost(api, monkeypatch)
    ws = await api.http.ws_connect(f"{api.base}/v1/agents/a1/stream")
    hello = await next_frame(ws)
    ix = await api.contact(channel="chat")
    offer = await next_frame(ws)  # once routing resumes
    assert (offer["type"], offer["seq"], offer["interaction_id"]) == ("offer", hello["seq"] + 1, ix)


async def test_a_desk_the_kept_events_cannot_bring_up_to_date_is_told_to_reconnect(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    await answers_lost(api, monkeypatch, trim=True)
    ws = await api.http.ws_connect(f"{api.base}/v1/agents/a1/stream")
    await next_frame(ws)  # the hello
    await api.contact(channel="chat")
    closed = await ws.receive(timeout=10)
    assert (closed.type, closed.data) == (aiohttp.WSMsgType.CLOSE, WSCloseCode.TRY_AGAIN_LATER)


async def answers_lost(api: Api, monkeypatch: pytest.MonkeyPatch, *, trim: bool = False) -> None:
    """An agent a1 with the skill, and the next commit's answer lost: Redis runs it, then goes
    (and with `trim`, the agent's kept events go with it)."""
    await api.agent("a1", {"en": 3})
    store, outcomes = api.router.store, api.router.store.outcomes
    cut: list[Sent] = []

    async def answer_lost(sent: Sent, rerun: Sequence[Op] = ()) -> list[Outcome]:
        done = await outcomes(sent, rerun)
        if not rerun and not cut:  # a commit, not an enqueue
            cut.append(sent)
            if trim:
                await api.redis.xtrim(store.keys.agent_events("a1"), 0, approximate=False)
            raise RedisConnectionError("gone after running the commit")
        return done

    monkeypatch.setattr(store, "outcomes", answer_lost)


@pytest.mark.parametrize("since", ["-1", "x", "%C2%B2", "9" * 19, "9" * 5000])
async def test_a_since_that_is_no_sequence_number_is_refused(api: Api, since: str) -> None:
    await api.agent("a1", {"en": 3})
    async with api.http.get(f"{api.base}/v1/agents/a1/stream?since={since}") as r:
        answer = await r.json()
    assert (r.status, answer["error"]["field"]) == (400, "since")


async def test_a_fresh_connection_is_told_its_open_offer(api: Api) -> None:
    await api.agent("a1", {"en": 3})
    ix = await api.contact(channel="chat")
    ws = await api.http.ws_connect(f"{api.base}/v1/agents/a1/stream")
    hello = await next_frame(ws)
    assert (hello["type"], hello["offer"]["interaction_id"]) == ("hello", ix)


async def test_a_fresh_connection_is_told_the_interactions_it_holds(api: Api) -> None:
    await api.agent("a1", {"en": 3})
    ix = await api.contact(channel="chat")
    offer_id = api.router.engine.tasks[ix].offer
    await api.call("POST", f"/v1/offers/{offer_id}/accept")
    ws = await api.http.ws_connect(f"{api.base}/v1/agents/a1/stream")
    hello = await next_frame(ws)
    held = [(x["interaction_id"], x["state"], x["channel"]) for x in hello["interactions"]]
    assert (held, "offer" in hello) == ([(ix, "assigned", "chat")], False)


async def test_a_desk_that_asks_for_compression_gets_plain_frames(api: Api) -> None:
    await api.agent("a1", {"en": 3})
    ws = await api.http.ws_connect(f"{api.base}/v1/agents/a1/stream", compress=15)
    hello = await next_frame(ws)
    assert hello["type"] == "hello"
    assert ws.compress == 0


async def test_supervisors_get_queue_figures(api: Api) -> None:
    await api.contact(channel="chat")
    ws = await api.http.ws_connect(f"{api.base}/v1/stream")
    figures = await next_frame(ws, "figures")
    support = next(q for q in figures["queues"] if q["name"] == "support")
    assert support["waiting"] == 1


async def test_a_closed_desk_connection_is_freed_without_the_cycle_collector(api: Api) -> None:
    # Long-lived desks are frozen by the GC policy: a cycle left by one would stay until the
    # next compaction. So the connection must go by reference counting alone.
    await api.agent("a1", {"en": 3})
    ws = await api.stream("a1")
    hub = api.runner.app[CONTEXT].hub
    (line,) = hub.agents["a1"]
    gone = weakref.ref(line.ws)
    del line
    gc.collect()
    gc.disable()
    try:
        await ws.close()
        for _ in range(200):
            if not hub.agents.get("a1") and gone() is None:
                break
            await asyncio.sleep(0.01)
        assert gone() is None
    finally:
        gc.enable()

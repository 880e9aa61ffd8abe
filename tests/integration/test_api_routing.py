"""End to end over HTTP and WebSocket: contacts are offered to the right agent, accepted,
completed; offers time out and requeue; every decision is explained."""

from __future__ import annotations

import redis.asyncio as aioredis

from tests.integration.api_kit import Api, next_frame, start_api, stop_api


async def test_a_contact_is_offered_to_the_agent_with_the_skill(api: Api) -> None:
    await api.agent("generalist", {"en": 3})
    await api.agent("accountant", {"billing": 3})
    ws = await api.stream("accountant")
    ix = await api.contact(channel="chat", text="my invoice is wrong")
    offer = await next_frame(ws, "offer")
    assert offer["interaction_id"] == ix


async def test_an_offer_carries_seq_and_deadline(api: Api) -> None:
    await api.agent("a1", {"en": 3})
    ws = await api.stream("a1")
    await api.contact(channel="chat")
    offer = await next_frame(ws, "offer")
    assert offer["seq"] > 0 and offer["deadline"] > 0 and offer["offer_id"]


async def test_accept_assigns_the_interaction(api: Api) -> None:
    await api.agent("a1", {"en": 3})
    ws = await api.stream("a1")
    ix = await api.contact(channel="chat")
    offer = await next_frame(ws, "offer")
    status, _ = await api.call("POST", f"/v1/offers/{offer['offer_id']}/accept")
    _, shown = await api.call("GET", f"/v1/interactions/{ix}")
    assert (status, shown["state"], shown["agent"]) == (200, "assigned", "a1")


async def test_complete_finishes_the_interaction(api: Api) -> None:
    await api.agent("a1", {"en": 3})
    ws = await api.stream("a1")
    ix = await api.assigned(ws, channel="voice")
    status, answer = await api.call("POST", f"/v1/interactions/{ix}/complete")
    _, shown = await api.call("GET", f"/v1/interactions/{ix}")
    assert (status, answer["state"], shown["state"]) == (200, "done", "done")


async def test_a_completed_agent_gets_the_next_waiting_contact(api: Api) -> None:
    await api.agent("a1", {"en": 3})
    ws = await api.stream("a1")
    first = await api.contact(channel="voice")
    second = await api.contact(channel="voice")
    offer = await next_frame(ws, "offer")
    await api.call("POST", f"/v1/offers/{offer['offer_id']}/accept")
    await api.call("POST", f"/v1/interactions/{first}/complete")
    assert (await next_frame(ws, "offer"))["interaction_id"] == second


async def test_wrap_up_holds_the_agent_until_it_ends(client: aioredis.Redis) -> None:
    api = await start_api(client, wrap_up="2s")
    try:
        await api.agent("a1", {"en": 3})
        ws = await api.stream("a1")
        first = await api.assigned(ws, channel="voice")
        _, completed = await api.call("POST", f"/v1/interactions/{first}/complete")
        second = await api.contact(channel="voice")
        _, during = await api.call("GET", f"/v1/interactions/{second}")
        after = await next_frame(ws, "offer")  # once the wrap-up is over
        _, ended = await api.call("GET", f"/v1/interactions/{first}")
    finally:
        await stop_api(api)
    assert (completed["state"], during["state"]) == ("wrap_up", "queued")
    assert (after["interaction_id"], ended["state"]) == (second, "done")


async def test_an_escalation_step_relaxes_the_skill_and_the_contact_is_offered(
    client: aioredis.Redis,
) -> None:
    api = await start_api(client, relax_billing_after="1s")
    try:
        await api.agent("junior", {"billing": 1})
        ws = await api.stream("junior")
        ix = await api.contact(channel="chat", text="my invoice is wrong")
        _, before = await api.call("GET", f"/v1/interactions/{ix}")
        offer = await next_frame(ws, "offer")  # after the step, a second later
        step = await api.redis.hget(api.router.store.keys.interaction(ix), "step")
    finally:
        await stop_api(api)
    assert (before["state"], offer["interaction_id"], step) == ("queued", ix, b"1")


async def test_the_explanation_names_the_chosen_agent_and_the_runner_up(api: Api) -> None:
    await api.agent("a1", {"en": 2})
    await api.agent("a2", {"en": 5})
    ix = await api.contact(channel="chat")
    _, shown = await api.call("GET", f"/v1/interactions/{ix}")
    explain = shown["explain"]
    chosen, others = explain["chosen"]["agent"], [c["agent"] for c in explain["runners_up"]]
    assert sorted([chosen, *others]) == ["a1", "a2"] and "skill_fit" in explain["chosen"]["parts"]


async def test_reject_requeues_and_offers_another_agent(api: Api) -> None:
    await api.agent("a1", {"en": 3})
    ws1 = await api.stream("a1")
    ix = await api.contact(channel="voice")
    offer = await next_frame(ws1, "offer")
    await api.agent("a2", {"en": 3})
    ws2 = await api.stream("a2")
    await api.call("POST", f"/v1/offers/{offer['offer_id']}/reject")
    assert (await next_frame(ws2, "offer"))["interaction_id"] == ix


async def test_abandon_ends_a_waiting_contact(api: Api) -> None:
    ix = await api.contact(channel="chat")
    status, _ = await api.call("POST", f"/v1/interactions/{ix}/abandon")
    _, shown = await api.call("GET", f"/v1/interactions/{ix}")
    assert (status, shown["state"]) == (200, "abandoned")


async def test_a_repeated_idempotency_key_returns_the_same_interaction(api: Api) -> None:
    body = {"channel": "chat", "customer": "c9"}
    headers = {"Idempotency-Key": "provider-msg-1"}
    first = await api.call("POST", "/v1/interactions", body, headers=headers)
    again = await api.call("POST", "/v1/interactions", body, headers=headers)
    assert (first[0], again[0], again[1]["id"]) == (201, 200, first[1]["id"])


async def test_a_repeated_idempotency_key_creates_nothing(api: Api) -> None:
    headers = {"Idempotency-Key": "provider-msg-1"}
    for _ in range(3):
        await api.call("POST", "/v1/interactions", {"channel": "chat", "customer": "c"},
                       headers=headers)  # fmt: skip
    assert await api.redis.scard(api.router.store.keys.live) == 1


async def test_an_idempotency_key_sent_with_another_contact_is_refused(api: Api) -> None:
    headers = {"Idempotency-Key": "provider-msg-1"}
    await api.call("POST", "/v1/interactions", {"channel": "chat", "customer": "c"},
                   headers=headers)  # fmt: skip
    status, answer = await api.call(
        "POST", "/v1/interactions", {"channel": "voice", "customer": "other"}, headers=headers
    )
    live = await api.redis.scard(api.router.store.keys.live)
    assert (status, answer["error"]["field"], live) == (422, "Idempotency-Key", 1)


async def test_an_idempotency_key_sent_again_with_its_contact_spelt_otherwise_is_a_repeat(
    api: Api,
) -> None:
    headers = {"Idempotency-Key": "provider-msg-1"}
    body = b'{"channel":"chat","customer":"c","attributes":{"a":1,"b":2}}'
    spelt_otherwise = b'{ "attributes": {"b": 2, "a": 1}, "customer": "c", "channel": "chat" }'
    first = await api.call("POST", "/v1/interactions", body, headers=headers)
    again = await api.call("POST", "/v1/interactions", spelt_otherwise, headers=headers)
    assert (again[0], again[1]["id"]) == (200, first[1]["id"])


async def test_queue_figures_count_the_waiting(api: Api) -> None:
    await api.contact(channel="chat")
    await api.contact(channel="chat")
    _, figures = await api.call("GET", "/v1/queues/support")
    assert figures["waiting"] == 2


async def test_a_contact_abandoned_after_it_was_answered_is_no_abandon(api: Api) -> None:
    await api.agent("a1", {"en": 3})
    ws = await api.stream("a1")
    ix = await api.contact(channel="chat")
    await api.call("POST", f"/v1/offers/{(await next_frame(ws, 'offer'))['offer_id']}/accept")
    await api.call("POST", f"/v1/interactions/{ix}/abandon")  # the customer hung up
    _, f = await api.call("GET", "/v1/queues/support")
    assert (f["answered"], f["abandoned"], f["service_level"]) == (1, 0, 1.0)


async def test_offered_counts_contacts_and_offers_counts_each_try(api: Api) -> None:
    left = await api.contact(channel="chat")  # no agent yet: it waits, then goes
    await api.call("POST", f"/v1/interactions/{left}/abandon")
    await api.agent("a1", {"en": 3})
    ws1 = await api.stream("a1")
    await api.contact(channel="voice")
    await api.agent("a2", {"en": 3})
    ws2 = await api.stream("a2")
    await api.call("POST", f"/v1/offers/{(await next_frame(ws1, 'offer'))['offer_id']}/reject")
    await next_frame(ws2, "offer")
    _, f = await api.call("GET", "/v1/queues/support")
    assert (f["offered"], f["offers"], f["abandoned"]) == (2, 2, 1)


async def test_a_contact_transferred_to_a_queue_is_offered_there(api: Api) -> None:
    ix = await api.contact(channel="chat")
    await api.call("POST", f"/v1/interactions/{ix}/transfer", {"queue": "billing"})
    _, f = await api.call("GET", "/v1/queues/billing")
    assert (f["offered"], f["waiting"]) == (1, 1)


async def test_an_offer_made_as_a_contact_is_transferred_counts_in_its_new_queue(api: Api) -> None:
    ix = await api.contact(channel="chat")
    await api.agent("accountant", {"billing": 3})
    await api.call("POST", f"/v1/interactions/{ix}/transfer", {"queue": "billing"})
    _, support = await api.call("GET", "/v1/queues/support")
    _, billing = await api.call("GET", "/v1/queues/billing")
    assert (support["offers"], billing["offers"], billing["offered"]) == (0, 1, 1)


async def test_a_transfer_to_an_agent_is_no_contact_come_into_the_queue(api: Api) -> None:
    await api.agent("a1", {"en": 3})
    ws = await api.stream("a1")
    ix = await api.contact(channel="chat")
    await api.call("POST", f"/v1/offers/{(await next_frame(ws, 'offer'))['offer_id']}/accept")
    await api.agent("a2", {"en": 3})
    await api.call("POST", f"/v1/interactions/{ix}/transfer", {"agent": "a2"})
    _, f = await api.call("GET", "/v1/queues/support")
    assert f["offered"] == 1


async def test_the_agent_list_shows_each_agents_name(api: Api) -> None:
    await api.call("PUT", "/v1/agents/a1", {"name": "Ada Lovelace", "skills": {"en": 3}})
    await api.call("PUT", "/v1/agents/a2", {"name": "Grace Hopper", "skills": {"en": 3}})
    _, agents = await api.call("GET", "/v1/agents")
    assert {a["id"]: a["name"] for a in agents} == {"a1": "Ada Lovelace", "a2": "Grace Hopper"}


async def test_an_unknown_queue_is_not_found(api: Api) -> None:
    status, answer = await api.call("GET", "/v1/queues/nope")
    assert (status, answer["error"]["code"]) == (404, "not_found")


async def test_healthz_reports_redis_and_engine(api: Api) -> None:
    assert await api.call("GET", "/healthz") == (200, {"ok": True, "redis": True, "engine": True})


async def test_metrics_are_prometheus_text(api: Api) -> None:
    await api.contact(channel="chat")
    async with api.http.get(api.base + "/metrics") as r:
        text = await r.text()
    assert 'routerd_queue_waiting{queue="support"} 1.0' in text


async def test_metrics_count_contacts_offered_and_offers_made(api: Api) -> None:
    await api.agent("a1", {"en": 3})
    await api.contact(channel="chat")
    async with api.http.get(api.base + "/metrics") as r:
        text = await r.text()
    counted = ('routerd_queue_offered_total{queue="support"} 1.0',
               'routerd_queue_offers_total{queue="support"} 1.0')  # fmt: skip
    assert [line in text for line in counted] == [True, True]


async def test_the_openapi_document_lists_every_path(api: Api) -> None:
    from router.api.routes import ROUTES  # noqa: PLC0415 - the table under test

    _, doc = await api.call("GET", "/v1/openapi.json")
    assert sorted(doc["paths"]) == sorted({r.path for r in ROUTES})


async def test_the_openapi_document_has_the_contact_body(api: Api) -> None:
    _, doc = await api.call("GET", "/v1/openapi.json")
    schema = doc["components"]["schemas"]["InteractionIn"]
    assert set(schema["required"]) == {"channel", "customer"}


async def test_the_openapi_document_names_the_refusal_of_a_routing_file(api: Api) -> None:
    _, doc = await api.call("GET", "/v1/openapi.json")
    assert "422" in doc["paths"]["/v1/config/reload"]["post"]["responses"]


async def _assigned(api: Api, agent: str, **contact: str) -> str:
    ws = await api.stream(agent)
    ix = await api.contact(**contact)
    offer = await next_frame(ws, "offer")
    await api.call("POST", f"/v1/offers/{offer['offer_id']}/accept")
    await ws.close()
    return ix


async def test_a_transfer_to_a_queue_reaches_that_queues_agent(api: Api) -> None:
    await api.agent("a1", {"en": 3})
    ix = await _assigned(api, "a1", channel="chat")
    await api.agent("accountant", {"billing": 3})
    ws = await api.stream("accountant")
    status, _ = await api.call("POST", f"/v1/interactions/{ix}/transfer", {"queue": "billing"})
    assert (status, (await next_frame(ws, "offer"))["interaction_id"]) == (200, ix)


async def test_a_transfer_releases_the_first_agent(api: Api) -> None:
    await api.agent("a1", {"en": 3})
    ix = await _assigned(api, "a1", channel="voice")
    await api.call("POST", f"/v1/interactions/{ix}/transfer", {"queue": "billing"})
    _, agent = await api.call("GET", "/v1/agents/a1")
    assert (agent["load"], agent["interactions"]) == (0, [])


async def test_a_transfer_to_an_agent_offers_it_to_that_agent(api: Api) -> None:
    await api.agent("a1", {"en": 3})
    ix = await _assigned(api, "a1", channel="chat")
    await api.agent("a2", {"en": 1}, status="break")
    ws = await api.stream("a2")
    await api.call("POST", "/v1/agents/a2/status", {"status": "available"})
    await api.call("POST", f"/v1/interactions/{ix}/transfer", {"agent": "a2"})
    offer = await next_frame(ws, "offer")
    _, shown = await api.call("GET", f"/v1/interactions/{ix}")
    assert (offer["interaction_id"], shown["state"], shown["agent"]) == (ix, "offered", "a2")


async def test_a_transfer_to_an_unknown_queue_changes_nothing(api: Api) -> None:
    await api.agent("a1", {"en": 3})
    ix = await _assigned(api, "a1", channel="chat")
    status, answer = await api.call("POST", f"/v1/interactions/{ix}/transfer", {"queue": "x"})
    _, shown = await api.call("GET", f"/v1/interactions/{ix}")
    assert (status, answer["error"]["field"], shown["state"]) == (400, "queue", "assigned")


async def test_an_accept_redis_refuses_is_not_answered_as_done(api: Api) -> None:
    await api.agent("a1", {"en": 3})
    ws = await api.stream("a1")
    ix = await api.contact(channel="chat")
    offer = await next_frame(ws, "offer")
    await api.redis.hset(api.router.store.keys.interaction(ix), "state", "queued")  # diverged
    status, answer = await api.call("POST", f"/v1/offers/{offer['offer_id']}/accept")
    assert (status, answer["error"]["code"]) == (503, "unavailable"), answer


async def test_a_change_redis_refuses_is_not_answered_as_done(api: Api) -> None:
    await api.agent("a1", {"en": 1}, status="break")
    await api.redis.delete(api.router.store.keys.agent("a1"))
    await api.redis.set(api.router.store.keys.agent("a1"), "not a hash")  # its script fails
    status, answer = await api.call("POST", "/v1/agents/a1/status", {"status": "available"})
    assert (status, answer["error"]["code"]) == (503, "unavailable"), answer

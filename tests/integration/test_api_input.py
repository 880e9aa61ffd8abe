"""Bad input gets a 4xx naming the field, and changes nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from router.api.context import MAX_BODY
from tests.integration.api_kit import Api

BAD_CONTACTS: list[tuple[Any, str]] = [
    (b'{"channel": "chat", ', "body"),
    (b"[]", "body"),
    ({"channel": "chat"}, "customer"),
    ({"channel": 5, "customer": "c"}, "channel"),
    ({"channel": "chat", "customer": "c", "colour": "red"}, "colour"),
    ({"channel": "fax", "customer": "c"}, "channel"),
    ({"channel": "chat", "customer": "c", "queue": "nope"}, "queue"),
    ({"channel": "chat", "customer": "c", "skills": {"klingon": 2}}, "skills.klingon"),
    ({"channel": "chat", "customer": "c", "skills": {"en": "high"}}, "skills"),
    ({"channel": "chat", "customer": "c", "priority": 99}, "priority"),
    ({"channel": "chat", "customer": ""}, "customer"),
    (
        b'{"channel": "chat", "customer": "c", "attributes": {"n": 99999999999999999999}}',
        "attributes",
    ),
]


@pytest.mark.parametrize(("body", "field"), BAD_CONTACTS)
async def test_a_bad_contact_is_refused_naming_the_field(api: Api, body: Any, field: str) -> None:
    status, answer = await api.call("POST", "/v1/interactions", body)
    assert (status, answer["error"]["code"], answer["error"]["field"]) == (400, "invalid", field)


@pytest.mark.parametrize(("body", "field"), BAD_CONTACTS)
async def test_a_bad_contact_writes_nothing(api: Api, body: Any, field: str) -> None:
    await api.call("POST", "/v1/interactions", body)
    assert await api.redis.dbsize() == 0


async def test_an_oversized_body_is_refused(api: Api) -> None:
    body = {"channel": "chat", "customer": "c", "text": "x" * (MAX_BODY + 1)}
    status, answer = await api.call("POST", "/v1/interactions", body)
    assert (status, answer["error"]["code"], await api.redis.dbsize()) == (413, "too_large", 0)


async def pieces(*chunks: bytes) -> AsyncIterator[bytes]:
    """A body sent chunked, a pause between chunks, so that it arrives after the headers."""
    for chunk in chunks:
        yield chunk
        await asyncio.sleep(0.05)


async def test_a_contact_whose_body_comes_in_pieces_is_taken_whole(api: Api) -> None:
    body = pieces(b'{"channel": "chat", ', b'"customer": "late-piece"}')
    async with api.http.post(api.base + "/v1/interactions", data=body) as r:
        ix = (await r.json())["id"]
    status, shown = await api.call("GET", f"/v1/interactions/{ix}")
    assert (r.status, status, shown["customer"]) == (201, 200, "late-piece")


async def test_an_oversized_body_in_pieces_is_refused(api: Api) -> None:
    body = pieces(b'{"channel": "chat", "customer": "c", "text": "', b"x" * MAX_BODY, b'"}')
    async with api.http.post(api.base + "/v1/interactions", data=body) as r:
        answer = await r.json()
    assert (r.status, answer["error"]["code"], await api.redis.dbsize()) == (413, "too_large", 0)


async def test_an_unknown_skill_in_an_agent_profile_is_refused(api: Api) -> None:
    status, answer = await api.call("PUT", "/v1/agents/a1", {"name": "A", "skills": {"x": 1}})
    assert (status, answer["error"]["field"]) == (400, "skills.x")


async def test_a_refused_agent_profile_writes_nothing(api: Api) -> None:
    await api.call("PUT", "/v1/agents/a1", {"name": "A", "skills": {"x": 1}})
    assert await api.redis.dbsize() == 0


@pytest.mark.parametrize("agent_id", ["b:events", "b%3Aevents", "a%20b", "a%09b"])
async def test_an_agent_id_that_could_name_another_key_is_refused(api: Api, agent_id: str) -> None:
    status, answer = await api.call("PUT", f"/v1/agents/{agent_id}", {"name": "B"})
    assert (status, answer["error"]["field"], await api.redis.dbsize()) == (400, "id", 0)


@pytest.mark.parametrize(
    ("extra", "field"), [({"capacity": 2**63}, "capacity"), ({"caps": {"chat": 2**63}}, "caps")]
)
async def test_a_capacity_past_the_kernels_is_refused(
    api: Api, extra: dict[str, Any], field: str
) -> None:
    profile = {"name": "A", "skills": {"en": 1}, **extra}
    status, answer = await api.call("PUT", "/v1/agents/a1", profile)
    assert (status, answer["error"]["field"], await api.redis.dbsize()) == (400, field, 0)


async def test_a_body_its_encoding_does_not_decode_is_refused(api: Api) -> None:
    headers = {"Content-Encoding": "gzip"}
    async with api.http.post(api.base + "/v1/interactions", data=b"notgzip", headers=headers) as r:
        answer = await r.json()
    assert (r.status, answer["error"]["field"], await api.redis.dbsize()) == (400, "body", 0)


async def test_a_transfer_to_an_empty_queue_name_is_refused(api: Api) -> None:
    await api.agent("a1", {"en": 1})
    ix = await api.contact(channel="chat")
    status, answer = await api.call("POST", f"/v1/interactions/{ix}/transfer", {"queue": ""})
    _, shown = await api.call("GET", f"/v1/interactions/{ix}")
    assert (status, answer["error"]["field"], shown["agent"]) == (400, "queue", "a1")


async def test_an_agent_with_an_empty_name_is_refused(api: Api) -> None:
    status, answer = await api.call("PUT", "/v1/agents/a1", {"name": "", "skills": {"en": 1}})
    assert (status, answer["error"]["field"], await api.redis.dbsize()) == (400, "name", 0)


@pytest.mark.parametrize("key", [None, "provider-msg-1"])
async def test_a_contact_redis_refuses_to_store_is_answered_503(api: Api, key: str | None) -> None:
    headers = {"Idempotency-Key": key} if key else {}
    await api.redis.config_set("min-replicas-to-write", 1)  # every write: NOREPLICAS
    try:
        body = {"channel": "chat", "customer": "c"}
        status, answer = await api.call("POST", "/v1/interactions", body, headers=headers)
    finally:
        await api.redis.config_set("min-replicas-to-write", 0)
    live = await api.redis.scard(api.router.store.keys.live)
    assert (status, answer["error"]["code"], live) == (503, "unavailable", 0)


async def test_an_unknown_status_is_refused(api: Api) -> None:
    await api.agent("a1", {"en": 1}, status="break")
    status, answer = await api.call("POST", "/v1/agents/a1/status", {"status": "napping"})
    assert (status, answer["error"]["field"]) == (400, "status")


async def test_a_refused_status_leaves_the_agent_as_it_was(api: Api) -> None:
    await api.agent("a1", {"en": 1}, status="break")
    await api.call("POST", "/v1/agents/a1/status", {"status": "napping"})
    stored = await api.redis.hget(api.router.store.keys.agent("a1"), "status")
    assert stored == b"break"


async def test_an_unknown_offer_is_not_found(api: Api) -> None:
    status, answer = await api.call("POST", "/v1/offers/nope/accept")
    assert (status, answer["error"]["code"]) == (404, "not_found")


async def test_completing_a_queued_contact_is_a_conflict(api: Api) -> None:
    ix = await api.contact(channel="chat")
    status, answer = await api.call("POST", f"/v1/interactions/{ix}/complete")
    assert (status, answer["error"]["code"]) == (409, "conflict")


async def test_an_unknown_path_answers_json(api: Api) -> None:
    status, answer = await api.call("GET", "/v1/nothing-here")
    assert (status, answer["error"]["code"]) == (404, "not_found")


async def test_a_wrong_method_answers_json(api: Api) -> None:
    status, answer = await api.call("DELETE", "/v1/queues")
    assert (status, answer["error"]["code"]) == (405, "method_not_allowed")


async def test_a_wrong_method_is_told_the_methods_its_path_allows(api: Api) -> None:
    async with api.http.delete(api.base + "/v1/interactions/some-id") as r:
        assert (r.status, r.headers["Allow"]) == (405, "GET")


async def test_a_path_below_a_route_is_not_found(api: Api) -> None:
    status, answer = await api.call("POST", "/v1/interactions/some-id/complete/now")
    assert (status, answer["error"]["code"]) == (404, "not_found")

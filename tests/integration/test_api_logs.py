"""API log lines name what the request is about: the ids the route guard binds for it."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest
import redis.asyncio as aioredis
import structlog

from router.log import configure as configure_logging
from tests.integration.api_kit import Api, next_frame, start_api, stop_api

Log = Callable[[str], list[dict[str, Any]]]


@contextlib.contextmanager
def _captured(level: str) -> Iterator[Log]:
    saved = structlog.get_config()
    stream = io.StringIO()
    with contextlib.redirect_stderr(stream):  # the configured loggers print to stderr
        configure_logging({"ROUTERD_LOG_FORMAT": "json", "ROUTERD_LOG_LEVEL": level})
    structlog.configure(cache_logger_on_first_use=False)  # none may keep it past the test

    def lines(event: str) -> list[dict[str, Any]]:
        parsed = [orjson.loads(line) for line in stream.getvalue().splitlines()]
        return [line for line in parsed if line["event"] == event]

    try:
        yield lines
    finally:
        configure_logging({"ROUTERD_LOG_LEVEL": "info"})
        structlog.configure(**saved)


@pytest.fixture
def logged() -> Iterator[Log]:
    """The lines of one event the daemon logs during the test, as production writes them."""
    with _captured("info") as lines:
        yield lines


@pytest.fixture
def logged_debug() -> Iterator[Log]:
    """The same with debug lines kept."""
    with _captured("debug") as lines:
        yield lines


async def test_an_ingest_is_logged_at_debug_level(api: Api, logged_debug: Log) -> None:
    ix = await api.contact(channel="chat")
    assert [line["interaction_id"] for line in logged_debug("interaction_ingested")] == [ix]


async def test_an_ingest_is_not_logged_at_info_level(api: Api, logged: Log) -> None:
    await api.contact(channel="chat")
    assert logged("interaction_ingested") == []


async def test_the_completion_line_names_the_interaction(api: Api, logged: Log) -> None:
    await api.agent("a1", {"en": 3})
    ws = await api.stream("a1")
    ix = await api.contact(channel="chat")
    offer = await next_frame(ws, "offer")
    await api.call("POST", f"/v1/offers/{offer['offer_id']}/accept")
    await api.call("POST", f"/v1/interactions/{ix}/complete")
    assert [line.get("interaction_id") for line in logged("interaction_completed")] == [ix]


async def test_the_status_line_names_the_agent(api: Api, logged: Log) -> None:
    await api.agent("a1", {"en": 3}, status="break")
    assert [line.get("agent_id") for line in logged("agent_status_set")] == ["a1"]


async def test_a_completion_over_the_socket_is_logged_with_both_ids(api: Api, logged: Log) -> None:
    await api.agent("a1", {"en": 3})
    ws = await api.stream("a1")
    ix = await api.contact(channel="chat")
    offer = await next_frame(ws, "offer")
    await ws.send_json({"action": "accept", "offer_id": offer["offer_id"]})
    await next_frame(ws, "reply")
    await ws.send_json({"action": "complete", "interaction_id": ix})
    await next_frame(ws, "reply")
    lines = logged("interaction_completed")
    assert [(line.get("interaction_id"), line.get("agent_id")) for line in lines] == [(ix, "a1")]


async def test_a_contact_the_new_routing_file_cannot_route_is_named_at_the_restart(
    client: aioredis.Redis, logged: Log
) -> None:
    api = await start_api(client)
    ix = await api.contact(channel="chat", text="my invoice")  # waits in billing: no agent
    await stop_api(api)
    api = await start_api(client, billing_voice_only=True)  # billing takes no chat now
    try:
        kept = await api.redis.hget(api.router.store.keys.interaction(ix), "state")
    finally:
        await stop_api(api)
    (line,) = logged("interactions_not_rebuilt")
    assert (line["count"], line["ids"], kept) == (1, [ix], b"queued")

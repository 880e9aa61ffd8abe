"""A contact whose enqueue Redis has not answered yet holds up no other request: the routing
loop goes on with its turns, and takes the contact once Redis has stored it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bench.load_proc import free_port
from router.redis_client import connect
from tests.integration.api_kit import Api, start_api, stop_api
from tests.integration.process_kit import RedisLine, RedisServer

HELD = "held-customer"
HOLD = 2.0  # the longest the enqueue is held: well inside routerd's Redis timeout


@dataclass
class Held:
    """What happened while one contact's enqueue was held on its way to Redis."""

    status_while_held: int | None = None  # an agent's status change, if answered meanwhile
    contact_while_held: bool = False  # whether the contact was answered meanwhile
    contact: tuple[int, Any] = (0, None)
    view: dict[str, Any] = field(default_factory=dict)


async def offered_view(api: Api, ix: str) -> dict[str, Any]:
    """The interaction once offered (or as it is after the wait)."""
    view: dict[str, Any] = {}
    for _ in range(250):
        _, view = await api.call("GET", f"/v1/interactions/{ix}")
        if view.get("state") == "offered":
            break
        await asyncio.sleep(0.02)
    return view


async def hold_one_contact(api: Api, line: RedisLine) -> Held:
    """Hold a contact's enqueue, change an agent's status meanwhile, then let it through."""
    profile = {"name": "a1", "skills": {"en": 3}}
    assert (await api.call("PUT", "/v1/agents/a1", profile))[0] == 200
    line.hold(HELD.encode())
    body = {"channel": "chat", "customer": HELD}
    contact = asyncio.create_task(api.call("POST", "/v1/interactions", body))
    await asyncio.wait_for(line.holding.wait(), HOLD)
    status = asyncio.create_task(api.call("POST", "/v1/agents/a1/status", {"status": "available"}))
    await asyncio.wait({status}, timeout=HOLD)
    held = Held()
    held.status_while_held = status.result()[0] if status.done() else None
    held.contact_while_held = contact.done()
    line.release()
    await status
    held.contact = await contact
    if held.contact[0] == 201:
        held.view = await offered_view(api, held.contact[1]["id"])
    return held


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def held(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Held]:
    """One contact held on the line to Redis while an agent comes available."""
    redis = RedisServer(Path(tmp_path_factory.mktemp("intake")), free_port())
    redis.start()
    line = RedisLine(redis.port)
    try:
        await line.start()
        client = connect(line.url)
        api = await start_api(client)
        try:
            result = await hold_one_contact(api, line)
        finally:
            line.release()
            await stop_api(api)
            await client.aclose()
    finally:
        await line.close()
        redis.close()
    yield result


def test_a_status_change_is_answered_while_a_contact_is_on_the_wire(held: Held) -> None:
    assert held.status_while_held == 200


def test_the_contact_is_not_answered_before_redis_has_it(held: Held) -> None:
    assert not held.contact_while_held


def test_the_contact_is_answered_201_once_redis_has_it(held: Held) -> None:
    assert held.contact[0] == 201


def test_the_contact_is_then_offered_to_the_agent_that_came_available(held: Held) -> None:
    assert held.view.get("state") == "offered"
    assert held.view.get("agent") == "a1"

"""API keys and roles: no key is 401, the wrong role or another agent's work is 403."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from router.auth import Principal, load_keys
from router.errors import InvalidInput
from tests.integration.api_kit import Api, next_frame, start_api, stop_api

KEYS = {
    "adapter-key-1": Principal("adapter"),
    "agent-a1-key": Principal("agent", "a1"),
    "agent-a2-key": Principal("agent", "a2"),
    "supervisor-key": Principal("supervisor"),
    "admin-key-123": Principal("admin"),
}
ADMIN = "admin-key-123"


@pytest.fixture
async def api(client: aioredis.Redis) -> AsyncIterator[Api]:
    running = await start_api(client, keys=KEYS)
    try:
        yield running
    finally:
        await stop_api(running)


async def _agent(api: Api, agent_id: str) -> None:
    await api.call("PUT", f"/v1/agents/{agent_id}", {"name": agent_id, "skills": {"en": 2}},
                   key=ADMIN)  # fmt: skip
    await api.call("POST", f"/v1/agents/{agent_id}/status", {"status": "available"}, key=ADMIN)


async def test_no_key_is_unauthorized(api: Api) -> None:
    status, answer = await api.call("GET", "/v1/queues")
    assert (status, answer["error"]["code"]) == (401, "unauthorized")


async def test_an_unknown_key_is_unauthorized(api: Api) -> None:
    assert (await api.call("GET", "/v1/queues", key="guessed-key"))[0] == 401


async def test_health_needs_no_key(api: Api) -> None:
    assert (await api.call("GET", "/healthz"))[0] == 200


async def test_an_adapter_may_ingest(api: Api) -> None:
    body = {"channel": "chat", "customer": "c"}
    assert (await api.call("POST", "/v1/interactions", body, key="adapter-key-1"))[0] == 201


async def test_an_adapter_may_not_change_agents(api: Api) -> None:
    body = {"name": "x", "skills": {}}
    status, answer = await api.call("PUT", "/v1/agents/x", body, key="adapter-key-1")
    assert (status, answer["error"]["code"]) == (403, "forbidden")


async def test_a_supervisor_may_read_but_not_ingest(api: Api) -> None:
    read = await api.call("GET", "/v1/agents", key="supervisor-key")
    body = {"channel": "chat", "customer": "c"}
    write = await api.call("POST", "/v1/interactions", body, key="supervisor-key")
    assert (read[0], write[0]) == (200, 403)


async def test_a_supervisor_may_not_reload_the_routing_file(api: Api) -> None:
    assert (await api.call("POST", "/v1/config/reload", key="supervisor-key"))[0] == 403


async def test_an_agent_may_set_its_own_status(api: Api) -> None:
    await _agent(api, "a1")
    body = {"status": "break"}
    assert (await api.call("POST", "/v1/agents/a1/status", body, key="agent-a1-key"))[0] == 200


async def test_an_agent_may_not_set_anothers_status(api: Api) -> None:
    await _agent(api, "a2")
    body = {"status": "break"}
    assert (await api.call("POST", "/v1/agents/a2/status", body, key="agent-a1-key"))[0] == 403


async def _offer_for_a1(api: Api) -> str:
    await _agent(api, "a1")
    ws = await api.http.ws_connect(f"{api.base}/v1/agents/a1/stream?key=agent-a1-key")
    await api.call("POST", "/v1/interactions", {"channel": "chat", "customer": "c"}, key=ADMIN)
    offer_id: str = (await next_frame(ws, "offer"))["offer_id"]
    await ws.close()
    return offer_id


async def test_an_agent_may_not_accept_anothers_offer(api: Api) -> None:
    offer = await _offer_for_a1(api)
    status, _ = await api.call("POST", f"/v1/offers/{offer}/accept", key="agent-a2-key")
    assert status == 403


async def test_an_agent_accepts_its_own_offer(api: Api) -> None:
    offer = await _offer_for_a1(api)
    assert (await api.call("POST", f"/v1/offers/{offer}/accept", key="agent-a1-key"))[0] == 200


async def test_a_key_in_the_url_of_a_request_that_is_not_a_stream_is_refused(api: Api) -> None:
    async with api.http.get(f"{api.base}/v1/queues?key=supervisor-key") as r:
        assert (r.status, (await r.json())["error"]["code"]) == (401, "unauthorized")


async def test_a_key_in_the_url_beside_the_header_is_refused_too(api: Api) -> None:
    headers = {"Authorization": "Bearer supervisor-key"}
    async with api.http.get(f"{api.base}/v1/queues?key=supervisor-key", headers=headers) as r:
        assert r.status == 401


async def test_an_agent_may_not_open_anothers_stream(api: Api) -> None:
    await _agent(api, "a2")
    async with api.http.get(f"{api.base}/v1/agents/a2/stream?key=agent-a1-key") as r:
        assert r.status == 403


async def test_a_supervisor_acting_on_an_agents_stream_is_refused_in_the_reply(api: Api) -> None:
    await _agent(api, "a1")
    ws = await api.http.ws_connect(f"{api.base}/v1/agents/a1/stream?key=supervisor-key")
    await ws.send_json({"action": "status", "status": "break", "ref": 5})
    reply = await next_frame(ws, "reply")
    _, agent = await api.call("GET", "/v1/agents/a1", key=ADMIN)
    assert (reply["ref"], reply["error"]["code"], agent["status"]) == (5, "forbidden", "available")


async def test_an_agent_may_not_read_a_contact_that_is_not_its_own(api: Api) -> None:
    body = {"channel": "chat", "customer": "c"}
    _, made = await api.call("POST", "/v1/interactions", body, key=ADMIN)
    assert (await api.call("GET", f"/v1/interactions/{made['id']}", key="agent-a1-key"))[0] == 403


def test_a_keys_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "keys.yaml"
    path.write_text("- {key: abcdefgh1, role: agent, agent: a7}\n- {key: abcdefgh2, role: admin}\n")
    assert load_keys(path) == {
        "abcdefgh1": Principal("agent", "a7"),
        "abcdefgh2": Principal("admin"),
    }


def test_an_agent_key_without_its_agent_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    path.write_text('[{"key": "abcdefgh1", "role": "agent"}]')
    with pytest.raises(InvalidInput, match="agent: ID"):
        load_keys(path)


def test_an_unknown_role_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "keys.yaml"
    path.write_text("- {key: abcdefgh1, role: root}\n")
    with pytest.raises(InvalidInput, match="role must be one of"):
        load_keys(path)

"""Agent desktops act over their WebSocket: accept, reject, complete, heartbeat, status."""

from __future__ import annotations

from typing import Any

import aiohttp

from tests.integration.api_kit import Api, next_frame


async def _frames_until_reply(ws: aiohttp.ClientWebSocketResponse) -> list[dict[str, Any]]:
    frames = [await next_frame(ws)]
    while frames[-1]["type"] != "reply":
        frames.append(await next_frame(ws))
    return frames


async def _offered(api: Api, agent: str = "a1") -> tuple[aiohttp.ClientWebSocketResponse, Any]:
    await api.agent(agent, {"en": 3})
    ws = await api.stream(agent)
    await api.contact(channel="chat")
    return ws, await next_frame(ws, "offer")


async def test_accept_over_the_socket_assigns(api: Api) -> None:
    ws, offer = await _offered(api)
    await ws.send_json({"action": "accept", "offer_id": offer["offer_id"], "ref": 1})
    frames = await _frames_until_reply(ws)
    assert [(f["type"], f.get("ok")) for f in frames] == [("assigned", None), ("reply", True)]


async def test_complete_over_the_socket_ends_the_interaction(api: Api) -> None:
    ws, offer = await _offered(api)
    await ws.send_json({"action": "accept", "offer_id": offer["offer_id"]})
    await _frames_until_reply(ws)
    await ws.send_json({"action": "complete", "interaction_id": offer["interaction_id"]})
    frames = await _frames_until_reply(ws)
    assert (frames[0]["type"], frames[0]["state"], frames[-1]["ok"]) == ("ended", "done", True)


async def test_reject_over_the_socket_revokes_the_offer(api: Api) -> None:
    ws, offer = await _offered(api)
    await ws.send_json({"action": "reject", "offer_id": offer["offer_id"]})
    frames = await _frames_until_reply(ws)
    assert frames[0]["type"] == "offer_revoked" and frames[-1]["ok"]


async def test_an_agent_may_not_accept_anothers_offer_over_its_socket(api: Api) -> None:
    _, offer = await _offered(api, "a1")
    await api.agent("a2", {"en": 3}, status="break")
    ws2 = await api.stream("a2")
    await ws2.send_json({"action": "accept", "offer_id": offer["offer_id"], "ref": "x"})
    reply = await next_frame(ws2, "reply")
    assert (reply["ok"], reply["ref"], reply["error"]["code"]) == (False, "x", "forbidden")


async def test_an_action_in_a_binary_frame_is_taken(api: Api) -> None:
    ws, offer = await _offered(api)
    await ws.send_bytes(b'{"action": "accept", "offer_id": "%s"}' % offer["offer_id"].encode())
    frames = await _frames_until_reply(ws)
    assert [(f["type"], f.get("ok")) for f in frames] == [("assigned", None), ("reply", True)]


async def test_a_binary_frame_that_is_not_json_is_refused(api: Api) -> None:
    await api.agent("a1", {"en": 3})
    ws = await api.stream("a1")
    await ws.send_bytes(b"\x00\xff")
    assert (await next_frame(ws, "reply"))["ok"] is False


async def test_an_unknown_action_is_refused_naming_the_field(api: Api) -> None:
    await api.agent("a1", {"en": 3})
    ws = await api.stream("a1")
    await ws.send_json({"action": "dance"})
    reply = await next_frame(ws, "reply")
    assert (reply["ok"], reply["error"]["field"]) == (False, "action")


async def test_a_ref_past_64_bits_is_refused_naming_the_field(api: Api) -> None:
    await api.agent("a1", {"en": 3})
    ws = await api.stream("a1")
    await ws.send_str('{"action": "heartbeat", "ref": 99999999999999999999}')
    reply = await next_frame(ws, "reply")
    assert (reply["ok"], reply["error"]["field"]) == (False, "ref")


async def test_status_over_the_socket_changes_the_status(api: Api) -> None:
    await api.agent("a1", {"en": 3})
    ws = await api.stream("a1")
    await ws.send_json({"action": "status", "status": "break"})
    await next_frame(ws, "reply")
    _, agent = await api.call("GET", "/v1/agents/a1")
    assert agent["status"] == "break"

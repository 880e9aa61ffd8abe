"""A routerd API on a loopback port over the test Redis, and helpers to talk to it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import redis.asyncio as aioredis
from aiohttp import web

from router.api.app import make_app
from router.api.context import Context
from router.api.hub import Hub
from router.auth import Auth, Principal
from router.config import load_config, load_config_text
from router.service import Router
from router.store import Store

ROUTING = """
version: 1
tenant: api
agents: {capacity: 100}
channels:
  voice: {cost: 100, max_per_agent: 1, wrap_up: 0s, blocks: [voice, chat]}
  chat: {cost: 25, max_per_agent: 3, wrap_up: 0s, blocks: [voice]}
skills:
  en: {description: English}
  billing: {description: Invoices and payments}
groups: [tier1]
queues:
  support:
    channels: [voice, chat]
    skills: {en: 1}
    service_level: 80% within 20s
  billing:
    channels: [voice, chat]
    skills: {billing: 2}
    service_level: 80% within 20s
classification:
  default: support
  rules:
    - name: invoices
      when: {keywords: [invoice]}
      queue: billing
offers: {timeout: OFFER_TIMEOUT, max_missed: 3}
presence: {lease: 60s}
"""

WAIT = 10.0

# Edits of ROUTING for tests that change the routing file.
FIFTEEN_S = [("OFFER_TIMEOUT", "15s")]
# Billing takes any English speaker: the waiting invoice contacts find an agent.
BILLING_IN_ENGLISH = [("    skills: {billing: 2}\n", "    skills: {en: 1}\n")]
# Billing takes no chats: the chats waiting there would have nowhere to go.
BILLING_BY_VOICE_ONLY = [
    ("  billing:\n    channels: [voice, chat]", "  billing:\n    channels: [voice]"),
    ("when: {keywords: [invoice]}", "when: {keywords: [invoice], channel: [voice]}"),
]
# Billing, its skill and its rule gone: invoices go to support.
NO_BILLING = [
    ("  billing:\n    channels: [voice, chat]\n    skills: {billing: 2}\n"
     "    service_level: 80% within 20s\n", ""),
    ("  billing: {description: Invoices and payments}\n", ""),
    ("  rules:\n    - name: invoices\n      when: {keywords: [invoice]}\n      queue: billing\n",
     "  rules: []\n"),
]  # fmt: skip


@dataclass
class Api:
    """A running API: its HTTP session, router and Redis."""

    http: aiohttp.ClientSession
    router: Router
    runner: web.AppRunner
    base: str

    @property
    def redis(self) -> aioredis.Redis:
        """The Redis the router writes to."""
        return self.router.store.client

    async def call(
        self, method: str, path: str, body: Any = None, key: str | None = None, **kw: Any
    ) -> tuple[int, Any]:
        """One request; (status, decoded JSON body or None)."""
        headers = dict(kw.pop("headers", {}))
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        data = body if isinstance(body, bytes) else None if body is None else orjson.dumps(body)
        async with self.http.request(method, self.base + path, data=data, headers=headers) as r:
            raw = await r.read()
            is_json = raw and r.content_type == "application/json"
            return r.status, orjson.loads(raw) if is_json else None

    async def agent(
        self, agent_id: str, skills: Mapping[str, int], status: str = "available"
    ) -> None:
        """Register an agent and set its status."""
        profile = {"name": agent_id, "skills": dict(skills)}
        assert (await self.call("PUT", f"/v1/agents/{agent_id}", profile))[0] == 200
        path = f"/v1/agents/{agent_id}/status"
        assert (await self.call("POST", path, {"status": status}))[0] == 200

    async def contact(self, **body: Any) -> str:
        """Post a contact; its id."""
        status, answer = await self.call("POST", "/v1/interactions", {"customer": "c", **body})
        assert status == 201, answer
        ident: str = answer["id"]
        return ident

    async def assigned(self, ws: aiohttp.ClientWebSocketResponse, **body: Any) -> str:
        """Post a contact, read its offer on `ws` and accept it; the contact's id."""
        ident = await self.contact(**body)
        offer = await next_frame(ws, "offer")
        assert offer["interaction_id"] == ident, offer
        assert (await self.call("POST", f"/v1/offers/{offer['offer_id']}/accept"))[0] == 200
        return ident

    async def stream(self, agent_id: str, query: str = "") -> aiohttp.ClientWebSocketResponse:
        """Open an agent's WebSocket and read its hello (unless replaying with ?since)."""
        ws = await self.http.ws_connect(f"{self.base}/v1/agents/{agent_id}/stream{query}")
        if "since" not in query:
            hello = await next_frame(ws)
            assert hello["type"] == "hello"
        return ws


async def next_frame(ws: aiohttp.ClientWebSocketResponse, kind: str | None = None) -> Any:
    """The next frame (of `kind`, skipping others), within the wait limit."""
    while True:
        msg = await asyncio.wait_for(ws.receive(), WAIT)
        assert msg.type == aiohttp.WSMsgType.TEXT, msg
        frame = orjson.loads(msg.data)
        if kind is None or frame["type"] == kind:
            return frame


async def frames_until(
    ws: aiohttp.ClientWebSocketResponse, done: asyncio.Event
) -> AsyncIterator[Any]:
    """The stream's frames as they come, until `done` is set or the socket closes."""
    while not done.is_set():
        try:
            msg = await asyncio.wait_for(ws.receive(), 0.2)
        except TimeoutError:
            continue
        if msg.type != aiohttp.WSMsgType.TEXT:
            return
        yield orjson.loads(msg.data)


async def start_api(
    client: aioredis.Redis,
    keys: dict[str, Principal] | None = None,
    *,
    offer_timeout: str = "15s",
    wrap_up: str = "0s",
    relax_billing_after: str | None = None,
    billing_voice_only: bool = False,
    edits: Sequence[tuple[str, str]] = (),
    routing_file: Path | None = None,
) -> Api:
    """Start a router and its API on a free loopback port. Billing's one escalation step, if
    asked for, relaxes its skill to level 1; voice only, billing takes no chats. `edits`
    replace further text; the routing file is written to `routing_file` if given, and read
    from there, for a test that reloads it."""
    edits = [
        ("OFFER_TIMEOUT", offer_timeout),
        ("wrap_up: 0s", f"wrap_up: {wrap_up}"),
        *edits,
    ]
    if relax_billing_after is not None:
        step = f"escalation: [{{after: {relax_billing_after}, relax_skills: {{billing: 1}}}}]"
        edits.append(("    skills: {billing: 2}\n", f"    skills: {{billing: 2}}\n    {step}\n"))
    if billing_voice_only:
        edits += BILLING_BY_VOICE_ONLY
    text = edited(ROUTING, edits)
    if routing_file is None:
        config = load_config_text(text, "api.yaml")
    else:
        routing_file.write_text(text)
        config = load_config(routing_file)
    hub = Hub()
    router = Router(config, Store(client, config), hub)
    await router.start()
    runner = web.AppRunner(make_app(Context(router, Auth(keys), hub)))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return Api(aiohttp.ClientSession(), router, runner, f"http://{host}:{port}")


def edited(text: str, edits: Sequence[tuple[str, str]]) -> str:
    """`text` with each (old, new) replaced; each old text must be there."""
    for old, new in edits:
        assert old in text, f"{old!r} is not in the routing file; adapt the test"
        text = text.replace(old, new)
    return text


async def stop_api(api: Api) -> None:
    """Close the session, the server and the router."""
    await api.http.close()
    await api.runner.cleanup()
    await api.router.stop()
    await api.router.store.close()

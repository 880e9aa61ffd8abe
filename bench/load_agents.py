"""Simulated agent desktops: one WebSocket each; accept every offer, complete after a while.

Desks act on their socket (`{"action": "accept", ...}`) as a desktop would; `socket=False`
makes them use the HTTP endpoints instead. The sockets are `bench/load_ws.py`'s lean client.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp
import orjson

from bench.load_client import JSON, connector, post
from bench.load_ws import DeskSocket, connect

CONNECT_CONCURRENCY = 50


@dataclass
class Desks:
    """Many agent desktops in this process, sharing one pool for their HTTP calls."""

    base: str
    handle: tuple[float, float] = (0.0, 0.05)  # seconds from accept to complete, uniform
    http_limit: int = 128
    socket: bool = True  # act over the WebSocket rather than HTTP
    accept: bool = True  # False: record offers and leave them open
    on_done: Callable[[], None] | None = None  # after each completed interaction
    offers: dict[str, float] = field(default_factory=dict)  # interaction id -> frame received
    counts: Counter[str] = field(default_factory=Counter)
    first_offer: asyncio.Event = field(default_factory=asyncio.Event)
    _http: aiohttp.ClientSession | None = None
    _work_in_flight: set[asyncio.Task[None]] = field(default_factory=set)
    _rng: random.Random = field(default_factory=lambda: random.Random(7))
    _replies: dict[str, asyncio.Future[bool]] = field(default_factory=dict)
    _sockets: dict[str, DeskSocket] = field(default_factory=dict)

    async def open(self, agent_ids: list[str]) -> None:
        """Connect every agent's stream and wait for each one's hello frame."""
        self._http = aiohttp.ClientSession(connector=connector(self.http_limit))
        gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
        await asyncio.gather(*(self._connect(a, gate) for a in agent_ids))

    async def _connect(self, agent_id: str, gate: asyncio.Semaphore) -> None:
        async with gate:
            ws = await connect(f"{self.base}/v1/agents/{agent_id}/stream", self._on_text)
            hello = orjson.loads(await ws.greeted)
            if hello.get("type") != "hello":
                raise RuntimeError(f"agent {agent_id}: first frame {hello!r}")
        self._sockets[agent_id] = ws

    def _on_text(self, ws: DeskSocket, payload: bytes) -> None:
        frame = orjson.loads(payload)
        kind = frame.get("type")
        self.counts[f"frame_{kind}"] += 1
        if kind == "offer":
            self.offers[frame["interaction_id"]] = time.perf_counter()
            self.first_offer.set()
            if self.accept:
                work = self._work(ws, frame["offer_id"], frame["interaction_id"])
                _keep(self._work_in_flight, asyncio.create_task(work))
        elif kind == "reply":
            waiting = self._replies.pop(frame["ref"], None)
            if waiting is not None and not waiting.done():
                waiting.set_result(bool(frame["ok"]))

    async def _work(self, ws: DeskSocket, offer_id: str, interaction_id: str) -> None:
        """Accept at once; complete after the handle time."""
        try:
            if not await self._act(ws, "accept", offer_id=offer_id):
                return
            low, high = self.handle
            await asyncio.sleep(self._rng.uniform(low, high))
            done = await self._act(ws, "complete", interaction_id=interaction_id)
            if done and self.on_done is not None:
                self.on_done()
        except (aiohttp.ClientError, ConnectionError):
            self.counts["work_client_error"] += 1

    async def _act(self, ws: DeskSocket, action: str, **ids: str) -> bool:
        """One action, on the socket or over HTTP; whether it was done."""
        if self.socket:
            ref = f"{action}:{next(iter(ids.values()))}"
            answer = self._replies[ref] = asyncio.get_running_loop().create_future()
            ws.send_text(orjson.dumps({"action": action, "ref": ref, **ids}))
            ok: bool = await answer
        else:
            assert self._http is not None
            path = (f"/v1/offers/{ids['offer_id']}/accept" if action == "accept"
                    else f"/v1/interactions/{ids['interaction_id']}/complete")  # fmt: skip
            status, _ = await post(self._http, self.base + path, b"")
            ok = status == 200
        self.counts[f"{action}_{'ok' if ok else 'refused'}"] += 1
        return ok

    async def set_status(self, agent_ids: list[str], status: str) -> None:
        """Set every agent's status, a few at a time."""
        assert self._http is not None
        body = orjson.dumps({"status": status})
        gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

        async def one(agent_id: str) -> None:
            async with (
                gate,
                self._http.post(  # type: ignore[union-attr]
                    f"{self.base}/v1/agents/{agent_id}/status", data=body, headers=JSON
                ) as resp,
            ):
                if resp.status != 200:
                    raise RuntimeError(f"status {agent_id}: {resp.status} {await resp.read()!r}")

        await asyncio.gather(*(one(a) for a in agent_ids))

    async def settle(self, timeout: float) -> None:
        """Wait for work in flight (accepts and completes) to finish, at most `timeout`."""
        if self._work_in_flight:
            await asyncio.wait(self._work_in_flight, timeout=timeout)

    async def close(self) -> None:
        """Close every stream and pool; cancel what is left."""
        tasks = list(self._work_in_flight)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for ws in self._sockets.values():
            ws.close()
        if self._http is not None:
            await self._http.close()


def _keep(tasks: set[asyncio.Task[None]], task: asyncio.Task[None]) -> None:
    """Hold a strong reference until the task is done (the loop keeps only weak ones)."""
    tasks.add(task)
    task.add_done_callback(tasks.discard)

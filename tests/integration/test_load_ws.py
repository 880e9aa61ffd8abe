"""The load benchmark's lean WebSocket client (bench/load_ws.py) against a real aiohttp
WebSocket server on loopback: what the desks' figures rest on."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import WSMsgType, web

from bench.load_ws import DeskSocket, HandshakeError, connect

SIZES = (5, 300, 70_000)  # a 7-bit, a 16-bit and a 64-bit length


async def stream(request: web.Request) -> web.WebSocketResponse:
    """Sends a text frame of each size, pings once, then echoes text frames upper-cased."""
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    for n in SIZES:
        await ws.send_str("x" * n)
    await ws.ping(b"hi")
    async for msg in ws:
        if msg.type == WSMsgType.TEXT:
            await ws.send_str(msg.data.upper())
    return ws


async def plain(_: web.Request) -> web.Response:
    return web.Response(text="no")


@pytest.fixture
async def base() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_get("/ws", stream)
    app.router.add_get("/plain", plain)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


async def received(base: str, count: int, send: bytes = b"") -> list[bytes]:
    """The first `count` text frames from /ws, after sending `send` (if any)."""
    got: list[bytes] = []
    enough = asyncio.Event()

    def on_text(_: DeskSocket, payload: bytes) -> None:
        got.append(payload)
        if len(got) >= count:
            enough.set()

    sock = await connect(f"{base}/ws", on_text)
    try:
        if send:
            sock.send_text(send)
        await asyncio.wait_for(enough.wait(), 10)
    finally:
        sock.close()
    return got


async def test_frames_of_every_length_arrive_whole_and_in_order(base: str) -> None:
    assert [len(p) for p in await received(base, 3)] == list(SIZES)


async def test_a_sent_frame_reaches_the_server(base: str) -> None:
    assert (await received(base, 4, b"accept"))[3] == b"ACCEPT"


async def test_a_long_sent_frame_reaches_the_server(base: str) -> None:
    assert (await received(base, 4, b"a" * 70_000))[3] == b"A" * 70_000


async def test_the_first_frame_is_the_greeting(base: str) -> None:
    sock = await connect(f"{base}/ws", lambda _s, _p: None)
    try:
        assert await asyncio.wait_for(sock.greeted, 10) == b"x" * SIZES[0]
    finally:
        sock.close()


async def test_a_server_that_does_not_upgrade_is_refused(base: str) -> None:
    with pytest.raises(HandshakeError):
        await connect(f"{base}/plain", lambda _s, _p: None)

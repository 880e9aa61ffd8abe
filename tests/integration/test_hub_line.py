"""A desk's line (router/api/hub.py) on a real aiohttp server, read by aiohttp's own client.

Each test runs on asyncio's loop and on uvloop, whose transports routerd runs on, in a loop of
its own (pytest-asyncio's loop would be the one kind only).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager

import aiohttp
import pytest
import uvloop
from aiohttp import web

from router.api.hub import BUFFER_LIMIT, Line

SIZES = (5, 300, 70_000)  # a 7-bit, a 16-bit and a 64-bit length
BIG = 16 * 1024


Scenario = Callable[[], Coroutine[None, None, None]]
Runner = Callable[[Scenario], None]
LOOPS = {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}


@pytest.fixture(params=sorted(LOOPS))
def run(request: pytest.FixtureRequest) -> Runner:
    """Runs a scenario to its end on the loop this test is for."""

    def runner(scenario: Scenario) -> None:
        with asyncio.Runner(loop_factory=LOOPS[request.param]) as r:
            r.run(scenario())

    return runner


class Server:
    """One /ws route that opens a Line and hands it to `script`; keeps what it made."""

    def __init__(self) -> None:
        self.script: Callable[[Line], None] = lambda line: None
        self.lines: list[Line] = []
        self.sockets: list[web.WebSocketResponse] = []
        self.transports: list[asyncio.Transport | None] = []
        self.base = ""

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        line = Line(ws, request.transport)
        self.lines.append(line)
        self.transports.append(request.transport)
        self.sockets.append(ws)
        self.script(line)
        async for _ in ws:
            pass
        line.close()
        return ws


@asynccontextmanager
async def serving() -> AsyncIterator[Server]:
    srv = Server()
    app = web.Application()
    app.router.add_get("/ws", srv.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    srv.base = f"http://{host}:{port}"
    try:
        yield srv
    finally:
        await runner.cleanup()


async def texts(server: Server, count: int) -> list[str]:
    """The first `count` text frames an aiohttp client reads from /ws."""
    got: list[str] = []
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{server.base}/ws") as ws:
        while len(got) < count:
            msg = await asyncio.wait_for(ws.receive(), 10)
            assert msg.type == aiohttp.WSMsgType.TEXT, msg
            got.append(msg.data)
    return got


def test_frames_of_every_length_arrive_whole(run: Runner) -> None:
    def script(line: Line) -> None:
        line.start()
        for n in SIZES:
            line.send(b"x" * n)

    async def scenario() -> None:
        async with serving() as server:
            server.script = script
            assert [len(t) for t in await texts(server, len(SIZES))] == list(SIZES)

    run(scenario)


def test_held_frames_go_out_at_start_without_those_the_client_has(run: Runner) -> None:
    def script(line: Line) -> None:
        for seq in (1, 2, 3):
            line.send(b"held %d" % seq, seq)
        line.start(after=2)
        line.send(b"live", 4)

    async def scenario() -> None:
        async with serving() as server:
            server.script = script
            assert await texts(server, 2) == ["held 3", "live"]

    run(scenario)


def test_a_desk_that_stops_reading_is_closed_as_too_slow(run: Runner) -> None:
    async def scenario() -> None:
        async with serving() as server:
            await flood(server)

    run(scenario)


async def flood(server: Server) -> None:
    """A client that never reads; its line is sent 64 MB, far more than socket buffers take."""
    host, port = server.base.removeprefix("http://").split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, int(port)))
    sock.sendall(
        b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    try:
        for _ in range(500):
            if server.lines:
                break
            await asyncio.sleep(0.01)
        (line,), (ws,), (transport,) = server.lines, server.sockets, server.transports
        assert transport is not None
        line.start()
        for _ in range(4096):
            line.send(b"x" * BIG)
        waiting = transport.get_write_buffer_size()
        await asyncio.sleep(0.1)
        assert (ws.closed, waiting <= BUFFER_LIMIT + BIG + 16) == (True, True), waiting
    finally:
        sock.close()

"""A lean HTTP/1.1 poster for the closed-loop phases: keep-alive sockets, prebuilt requests.

aiohttp's client costs about as much CPU per request as the server it measures, and on two
cores the driver shares the machine with what it drives. This one sends prebuilt bytes and
reads only the status line and `Content-Length`, so more of the machine is left to the server;
the ingest phase and the bare ceiling both use it, so their ratio compares like with like, and
so do the lifecycle phase's posters and the latency phase's open loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import cast
from urllib.parse import urlsplit

import orjson

from bench.load_client import BODIES, Tally

_LENGTH = b"\r\ncontent-length:"


class ProtocolError(Exception):
    """The server answered something this client does not read (no length, bad status)."""


class Connection(asyncio.Protocol):
    """One keep-alive connection with at most one request in flight."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.answer: asyncio.Future[tuple[int, bytes]] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.answer is None or self.answer.done():
            return
        try:
            answer = self._complete()
        except ProtocolError as err:
            self.answer.set_exception(err)
            return
        if answer is not None:
            self.answer.set_result(answer)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.answer is not None and not self.answer.done():
            self.answer.set_exception(ConnectionError("connection closed"))

    def _complete(self) -> tuple[int, bytes] | None:
        """The status and body of the answer in the buffer, once all of it arrived (then
        removed)."""
        head_end = self.buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return None
        head = bytes(self.buffer[:head_end]).lower()
        at = head.find(_LENGTH)
        if not head.startswith(b"http/1.1 ") or at < 0:
            raise ProtocolError(f"unreadable answer head {head[:200]!r}")
        line_end = head.find(b"\r\n", at + 2)
        length = int(head[at + len(_LENGTH) : line_end if line_end > 0 else None])
        end = head_end + 4 + length
        if len(self.buffer) < end:
            return None
        body = bytes(self.buffer[head_end + 4 : end])
        del self.buffer[:end]
        return int(head[9:12]), body

    async def send(self, request: bytes) -> tuple[int, bytes]:
        """Send one request; its answer's status and body."""
        assert self.transport is not None
        self.answer = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await self.answer


@contextlib.asynccontextmanager
async def connections(url: str, n: int) -> AsyncIterator[list[Connection]]:
    """`n` keep-alive connections to the server of `url`, closed on the way out."""
    parts = urlsplit(url)
    loop = asyncio.get_running_loop()
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    made = [(await loop.create_connection(Connection, host, port))[1] for _ in range(n)]
    try:
        yield made
    finally:
        for conn in made:
            if conn.transport is not None:
                conn.transport.close()


async def _counted(conn: Connection, request: bytes, tally: Tally) -> tuple[int, bytes] | None:
    """One post, its answer counted in `tally`; None if the connection failed."""
    try:
        status, body = await conn.send(request)
    except (ConnectionError, ProtocolError):
        tally.errors += 1
        return None
    tally.statuses[status] += 1
    return status, body


def requests(url: str) -> list[bytes]:
    """The contacts of `BODIES` as complete POST requests to `url`."""
    parts = urlsplit(url)
    head = (
        f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
    ).encode()
    return [head + b"Content-Length: %d\r\n\r\n" % len(b) + b for b in BODIES]


async def closed_loop(url: str, concurrency: int, warmup: float, duration: float) -> Tally:
    """`concurrency` connections posting back to back; counts the 2xx inside the window."""
    async with connections(url, concurrency) as made:
        return await _closed_loop(made, requests(url), warmup, duration)


async def _closed_loop(
    made: list[Connection], prebuilt: list[bytes], warmup: float, duration: float
) -> Tally:
    tally = Tally()
    start = time.perf_counter() + warmup
    end = start + duration
    concurrency = len(made)

    async def worker(conn: Connection, first: int) -> None:
        n = first
        while time.perf_counter() < end:
            answer = await _counted(conn, prebuilt[n % len(prebuilt)], tally)
            if answer is None:
                return
            status = answer[0]
            if 200 <= status < 300 and start <= time.perf_counter() < end:
                tally.in_window += 1
            n += concurrency

    await asyncio.gather(*(worker(conn, i) for i, conn in enumerate(made)))
    return tally


async def open_loop(
    url: str,
    rate: float,
    duration: float,
    on_created: Callable[[str, float], None],
    sockets: int = 64,
) -> Tally:
    """Post at a fixed `rate` whatever the answers take, over `sockets` keep-alive
    sockets; `on_created(id, scheduled_at)` per 201. A post waiting for a free socket is late
    from when it was due, so a slow server cannot hide behind the driver."""
    async with connections(url, sockets) as made:
        return await _open_loop(made, requests(url), rate, duration, on_created)


async def _open_loop(
    made: list[Connection],
    prebuilt: list[bytes],
    rate: float,
    duration: float,
    on_created: Callable[[str, float], None],
) -> Tally:
    due: asyncio.Queue[tuple[int, float] | None] = asyncio.Queue()
    tally = Tally()

    async def worker(conn: Connection) -> None:
        while (item := await due.get()) is not None:
            n, scheduled = item
            answer = await _counted(conn, prebuilt[n % len(prebuilt)], tally)
            if answer is None:
                return
            status, body = answer
            if status == 201:
                tally.in_window += 1
                on_created(orjson.loads(body)["id"], scheduled)

    workers = [asyncio.create_task(worker(conn)) for conn in made]
    start = time.perf_counter()
    launched = 0
    while (now := time.perf_counter()) < start + duration:
        while launched < int((now - start) * rate):
            due.put_nowait((launched, start + launched / rate))
            launched += 1
        await asyncio.sleep(0.001)
    for _ in workers:
        due.put_nowait(None)
    await asyncio.gather(*workers)
    return tally

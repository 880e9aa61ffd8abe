"""Routing commits on one Redis connection: batches written back to back, replies read in order.

The routing loop sends a turn's commit and goes on with the next turn while Redis runs it. Redis
runs one connection's commands in the order they were written, so a turn's transitions always
come after the last turn's, as they did when each turn waited for its commit. A connection that
fails or stays silent for `socket_timeout` fails every batch still owed a reply; the next send
opens a new one.

redis-py opens the connection (address, TLS, AUTH, SELECT); then the line takes its transport
over with a protocol of its own, which feeds what arrives to the connection's hiredis reader
and settles each batch as its last reply comes. Read through redis-py's stream, every arrival
woke a reader task through a stream, a parser coroutine and a timeout: for a contact posted
alone and offered at once, a sixth of the daemon's instructions.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import redis.asyncio as aioredis
from redis._parsers.hiredis import NOT_ENOUGH_DATA, _AsyncHiredisParser
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from native import pack_commands
from router.errors import RouterdError

Sent = asyncio.Future[list[Any]]
WRITE_BUFFER = 1 << 20  # bytes written and not yet taken by the socket before a send waits


class _Feed(asyncio.Protocol):
    """The protocol of a taken-over connection: everything goes to its line."""

    def __init__(self, line: CommitLine, stream: asyncio.BaseProtocol) -> None:
        self.line = line
        self.stream = stream  # redis-py's, told of the end so that its close does not wait
        self.paused: asyncio.Future[None] | None = None

    def data_received(self, data: bytes) -> None:
        self.line._received(self, data)

    def eof_received(self) -> bool:
        return False  # the transport closes, and connection_lost tells the line

    def connection_lost(self, exc: Exception | None) -> None:
        why = f": {exc}" if exc is not None else ""
        self.line._lost(self, RedisConnectionError(f"redis closed the connection{why}"))
        self.stream.connection_lost(exc)

    def pause_writing(self) -> None:
        self.paused = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self.paused is not None and not self.paused.done():
            self.paused.set_result(None)
        self.paused = None

    async def drained(self) -> None:
        """Until the transport takes writes again (at once when it does)."""
        if self.paused is not None:
            # Shielded: the future is every sender's, and one sender's cancellation is its own.
            await asyncio.shield(self.paused)


class CommitLine:
    """One connection of `client`'s pool, kept for ordered batches; `on_connect` runs on each
    new connection before its first batch (routerd loads its scripts there)."""

    def __init__(
        self, client: aioredis.Redis, on_connect: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        self._client = client
        self._on_connect = on_connect
        self._conn: Any = None
        self._transport: asyncio.Transport | None = None
        self._feed: _Feed | None = None
        self._reader: Any = None  # the connection's hiredis reader
        self._owed: deque[tuple[int, Sent]] = deque()
        self._got: list[Any] = []  # replies of the oldest batch owed, so far
        self._heard = 0.0  # loop time of the last reply, or of a send when nothing was owed
        self._watch: asyncio.TimerHandle | None = None
        self._closing: set[asyncio.Task[None]] = set()
        self._closed = False
        self._lock = asyncio.Lock()

    async def send(self, commands: Sequence[tuple[Any, ...]]) -> Sent:
        """Write `commands` after every batch sent before; the future gets their replies, an
        error reply in its command's place. Raises at once if Redis cannot be reached."""
        transport = self._transport
        if transport is None or transport.is_closing():
            transport = await self._connected()
        if not commands and not self._owed:
            done: Sent = asyncio.get_running_loop().create_future()
            done.set_result([])  # nothing to wait for (one sent after others waits for them)
            return done
        packed = pack_commands(commands)
        loop = asyncio.get_running_loop()
        if not self._owed:
            self._heard = loop.time()  # the silence that times out starts now
        # Written now, without yielding to the event loop: the routing loop goes on with its
        # turn, and the order of the writes is the order of the calls.
        transport.write(packed)
        sent: Sent = loop.create_future()
        self._owed.append((len(commands), sent))
        if self._watch is None and self._conn.socket_timeout is not None:
            self._watch = loop.call_later(self._conn.socket_timeout, self._check)
        if self._feed is not None:
            await self._feed.drained()  # Redis reads slower than routerd writes: wait for it
        return sent

    async def close(self) -> None:
        """Fail what is still owed and give the connection back; the line opens no other."""
        self._closed = True
        if self._feed is not None:
            self._lost(self._feed, RedisConnectionError("commit line closed"))
        while self._closing:
            await asyncio.gather(*self._closing)

    async def _connected(self) -> asyncio.Transport:
        async with self._lock:  # one connection, however many sends wait for it
            if self._closed:
                raise RedisConnectionError("commit line closed")
            if self._feed is not None and self._transport is not None:
                if not self._transport.is_closing():
                    return self._transport
                self._lost(self._feed, RedisConnectionError("redis closed the connection"))
            return await self._open()

    async def _open(self) -> asyncio.Transport:
        pool: Any = self._client.connection_pool  # its get_connection is untyped
        conn = await pool.get_connection()
        try:
            if not conn.is_connected:
                await conn.connect()
            if self._on_connect is not None:
                await self._on_connect()
            parser = conn._parser
            if type(parser) is not _AsyncHiredisParser:
                raise RouterdError("the commit line needs redis-py's hiredis parser")
            transport: asyncio.Transport = conn._writer.transport
            stream = conn._reader  # what redis-py's protocol heard so far
            # No await from here to the takeover: an end heard now is the last one heard.
            if transport.is_closing() or stream.at_eof() or stream.exception() is not None:
                raise RedisConnectionError("redis closed the connection")
        except BaseException:
            try:
                await conn.disconnect(nowait=True)
            finally:
                await pool.release(conn)
            raise
        feed = _Feed(self, transport.get_protocol())
        transport.set_protocol(feed)
        transport.set_write_buffer_limits(high=WRITE_BUFFER)
        self._conn, self._transport, self._feed = conn, transport, feed
        self._reader = parser._reader
        self._got = []
        return transport

    def _received(self, feed: _Feed, data: bytes) -> None:
        if feed is not self._feed:
            return  # a connection this line dropped, late
        reader, owed, got = self._reader, self._owed, self._got
        self._heard = asyncio.get_running_loop().time()
        try:
            reader.feed(data)
            while owed:
                n, sent = owed[0]
                while len(got) < n:
                    reply = reader.gets()
                    if reply is NOT_ENOUGH_DATA:
                        return
                    if isinstance(reply, RedisConnectionError):
                        # e.g. LOADING: as redis-py's read_response, the connection is not usable
                        self._lost(feed, reply)
                        return
                    got.append(reply)
                owed.popleft()
                if not sent.done():
                    sent.set_result(got)
                self._got = got = []
        except RedisError as err:  # a reply hiredis could not parse
            self._lost(feed, RedisConnectionError(f"reading from redis: {err}"))

    def _check(self) -> None:
        """Fail the line if Redis owes replies and said nothing for `socket_timeout`."""
        self._watch = None
        conn, feed = self._conn, self._feed
        if conn is None or feed is None or not self._owed:
            return
        loop = asyncio.get_running_loop()
        due = self._heard + conn.socket_timeout
        if loop.time() >= due:
            self._lost(feed, RedisTimeoutError("timeout waiting for redis"))
        else:
            self._watch = loop.call_at(due, self._check)

    def _lost(self, feed: _Feed, err: Exception) -> None:
        """Fail every batch owed on `feed`'s connection and never use it again."""
        if self._feed is not feed:
            return
        conn, transport = self._conn, self._transport
        self._conn = self._transport = self._feed = self._reader = None
        if transport is not None:
            # Unsent bytes are dropped with it: a close would wait for a silent Redis to read
            # them before the end is reported.
            transport.abort()
        feed.resume_writing()  # senders waiting for room get their failed batches
        self._got = []
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None
        while self._owed:
            _, sent = self._owed.popleft()
            if not sent.done():
                sent.set_exception(err)
        closing = asyncio.get_running_loop().create_task(self._give_back(conn))
        self._closing.add(closing)
        closing.add_done_callback(self._closing.discard)

    async def _give_back(self, conn: Any) -> None:
        try:
            await conn.disconnect(nowait=True)
        finally:
            await self._client.connection_pool.release(conn)

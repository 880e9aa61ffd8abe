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
from redis._parsers.hiredis import _AsyncHiredisParser
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from native import pack_commands
from router.errors import RouterdError
from router.redis_client import take_parsed

Sent = asyncio.Future[list[Any]]
WRITE_BUFFER = 1 << 20  # bytes written and not yet taken by the socket before a send waits


class _Feed(asyncio.Protocol):
    """A taken-over connection: its transport, its hiredis reader, and the protocol that tells
    its line what arrives."""

    def __init__(self, line: CommitLine, conn: Any, transport: asyncio.Transport) -> None:
        self.line = line
        self.conn = conn  # redis-py's connection, given back to its pool when dropped
        self.transport = transport
        self.reader = conn._parser._reader
        # redis-py's own protocol, told of the end so that its close does not wait for it.
        self.stream: asyncio.BaseProtocol = transport.get_protocol()
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
        self._feed: _Feed | None = None  # the connection in use
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
        feed = self._feed
        if feed is None or feed.transport.is_closing():
            feed = await self._connected()
        loop = asyncio.get_running_loop()
        if not commands and not self._owed:
            done: Sent = loop.create_future()
            done.set_result([])  # nothing to wait for (one sent after others waits for them)
            return done
        packed = pack_commands(commands)
        if not self._owed:
            self._heard = loop.time()  # the silence that times out starts now
        # Written now, without yielding to the event loop: the routing loop goes on with its
        # turn, and the order of the writes is the order of the calls.
        feed.transport.write(packed)
        sent: Sent = loop.create_future()
        self._owed.append((len(commands), sent))
        if self._watch is None and feed.conn.socket_timeout is not None:
            self._watch = loop.call_later(feed.conn.socket_timeout, self._check)
        await feed.drained()  # Redis reads slower than routerd writes: wait for it
        return sent

    async def close(self) -> None:
        """Fail what is still owed and give the connection back; the line opens no other."""
        self._closed = True
        if self._feed is not None:
            self._lost(self._feed, RedisConnectionError("commit line closed"))
        while self._closing:
            # Dropped here, not left to their done callbacks: from Python 3.12 gathering tasks
            # already done returns without yielding, so those callbacks would never run.
            closing = [*self._closing]
            await asyncio.gather(*closing)
            self._closing.difference_update(closing)

    async def _connected(self) -> _Feed:
        async with self._lock:  # one connection, however many sends wait for it
            if self._closed:
                raise RedisConnectionError("commit line closed")
            if self._feed is not None:
                if not self._feed.transport.is_closing():
                    return self._feed
                self._lost(self._feed, RedisConnectionError("redis closed the connection"))
            return await self._open()

    async def _open(self) -> _Feed:
        pool: Any = self._client.connection_pool  # its get_connection is untyped
        conn = await pool.get_connection()
        try:
            if not conn.is_connected:
                await conn.connect()
            if self._on_connect is not None:
                await self._on_connect()
            if type(conn._parser) is not _AsyncHiredisParser:
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
        feed = self._feed = _Feed(self, conn, transport)
        transport.set_protocol(feed)
        transport.set_write_buffer_limits(high=WRITE_BUFFER)
        self._got = []
        return feed

    def _received(self, feed: _Feed, data: bytes) -> None:
        if feed is not self._feed:
            return  # a connection this line dropped, late
        owed, got = self._owed, self._got
        self._heard = asyncio.get_running_loop().time()
        try:
            feed.reader.feed(data)
            while owed:
                n, sent = owed[0]
                if not take_parsed(feed.reader, got, n):
                    return
                owed.popleft()
                if not sent.done():
                    sent.set_result(got)
                self._got = got = []
        except RedisConnectionError as err:  # e.g. LOADING
            self._lost(feed, err)
        except RedisError as err:  # a reply hiredis could not parse
            self._lost(feed, RedisConnectionError(f"reading from redis: {err}"))

    def _check(self) -> None:
        """Fail the line if Redis owes replies and said nothing for `socket_timeout`."""
        self._watch = None
        feed = self._feed
        if feed is None or not self._owed:
            return
        loop = asyncio.get_running_loop()
        due = self._heard + feed.conn.socket_timeout
        if loop.time() >= due:
            self._lost(feed, RedisTimeoutError("timeout waiting for redis"))
        else:
            self._watch = loop.call_at(due, self._check)

    def _lost(self, feed: _Feed, err: Exception) -> None:
        """Fail every batch owed on `feed`'s connection and never use it again."""
        if self._feed is not feed:
            return
        self._feed = None
        # Unsent bytes are dropped with it: a close would wait for a silent Redis to read them
        # before the end is reported.
        feed.transport.abort()
        feed.resume_writing()  # senders waiting for room get their failed batches
        self._got = []
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None
        while self._owed:
            _, sent = self._owed.popleft()
            if not sent.done():
                sent.set_exception(err)
        closing = asyncio.get_running_loop().create_task(self._give_back(feed.conn))
        self._closing.add(closing)
        closing.add_done_callback(self._closing.discard)

    async def _give_back(self, conn: Any) -> None:
        try:
            await conn.disconnect(nowait=True)
        finally:
            await self._client.connection_pool.release(conn)

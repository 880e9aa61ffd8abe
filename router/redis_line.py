"""Routing commits on one Redis connection: batches written back to back, replies read in order.

The routing loop sends a turn's commit and goes on with the next turn while Redis runs it. Redis
runs one connection's commands in the order they were written, so a turn's transitions always
come after the last turn's, as they did when each turn waited for its commit. A connection that
fails or stays silent for `socket_timeout` fails every batch still owed a reply; the next send
opens a new one.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from native import pack_commands
from router.redis_client import replies

Sent = asyncio.Future[list[Any]]
WRITE_BUFFER = 1 << 20  # bytes written and not yet taken by the socket before a send waits


class CommitLine:
    """One connection of `client`'s pool, kept for ordered batches; `on_connect` runs on each
    new connection before its first batch (routerd loads its scripts there)."""

    def __init__(
        self, client: aioredis.Redis, on_connect: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        self._client = client
        self._on_connect = on_connect
        self._conn: Any = None
        self._owed: deque[tuple[int, Sent]] = deque()
        self._reader: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def send(self, commands: Sequence[tuple[Any, ...]]) -> Sent:
        """Write `commands` after every batch sent before; the future gets their replies, an
        error reply in its command's place. Raises at once if Redis cannot be reached."""
        packed = pack_commands(commands)
        conn = self._conn
        if conn is not None and _closed(conn):
            # Closed by Redis or on the way while nothing was owed, so no reader saw it.
            await self._drop(conn, RedisConnectionError("redis closed the connection"))
            conn = None
        if conn is None:
            conn = await self._connected()
        writer = conn._writer  # redis-py's stream writer: its send path would yield twice
        try:
            # Written now, without yielding to the event loop: the routing loop goes on with
            # its turn, and the order of the writes is the order of the calls.
            writer.write(packed)
        except (ConnectionError, OSError) as err:
            await self._drop(conn, RedisConnectionError(f"writing to redis: {err}"))
            raise RedisConnectionError(f"writing to redis: {err}") from err
        sent: Sent = asyncio.get_running_loop().create_future()
        self._owed.append((len(commands), sent))
        if self._reader is None:
            self._reader = asyncio.create_task(self._read(conn), name="routerd-commit-line")
        if writer.transport.get_write_buffer_size() > WRITE_BUFFER:
            await writer.drain()  # Redis reads slower than routerd writes: wait for it
        return sent

    async def close(self) -> None:
        """Fail what is still owed and give the connection back."""
        if self._reader is not None:
            self._reader.cancel()
        if self._conn is not None:
            await self._drop(self._conn, RedisConnectionError("commit line closed"))

    async def _connected(self) -> Any:
        async with self._lock:  # one connection, however many sends wait for it
            return await self._open()

    async def _open(self) -> Any:
        if self._conn is None:
            pool: Any = self._client.connection_pool  # its get_connection is untyped
            conn = await pool.get_connection()
            try:
                if not conn.is_connected:
                    await conn.connect()
                if self._on_connect is not None:
                    await self._on_connect()
            except BaseException:
                await pool.release(conn)
                raise
            self._conn = conn
        return self._conn

    async def _read(self, conn: Any) -> None:
        # Ends when nothing is owed, and `send` starts a new reader then: between the check
        # and the end there is no await, so no batch is queued unseen.
        try:
            while self._owed and self._conn is conn:
                n, sent = self._owed[0]
                got = await replies(conn, n)
                if self._conn is not conn:
                    return  # dropped meanwhile: what is owed now belongs to a new connection
                self._owed.popleft()
                if not sent.done():
                    sent.set_result(got)
        except TimeoutError:
            await self._drop(conn, RedisTimeoutError("timeout waiting for redis"))
        except (RedisConnectionError, OSError) as err:
            await self._drop(conn, RedisConnectionError(f"reading from redis: {err}"))
        except asyncio.CancelledError:
            await self._drop(conn, RedisConnectionError("commit line closed"))
            raise
        finally:
            if self._reader is asyncio.current_task():
                self._reader = None

    async def _drop(self, conn: Any, err: Exception) -> None:
        """Fail every batch owed on `conn` and never use it again."""
        if self._conn is not conn:
            return
        self._conn = None
        self._reader = None
        while self._owed:
            _, sent = self._owed.popleft()
            if not sent.done():
                sent.set_exception(err)
        await conn.disconnect(nowait=True)
        await self._client.connection_pool.release(conn)


def _closed(conn: Any) -> bool:
    """Whether the other end closed or reset `conn` (redis-py's asyncio streams)."""
    reader, writer = conn._reader, conn._writer
    return bool(writer.is_closing() or reader.at_eof() or reader.exception() is not None)

"""The Redis client routerd uses: redis-py's asyncio client with commands packed by native.

redis-py's asyncio connections pack every command in Python, which costs about five times
what hiredis's C packer does, and hiredis's costs about 3.7 times routerd's own
(`native.pack_commands`): routerd sends a Lua call with some twenty arguments per transition,
so the packer is one of the daemon's larger costs at load.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncGenerator, Sequence
from typing import Any

import redis.asyncio as aioredis
from redis._parsers.hiredis import NOT_ENOUGH_DATA, _AsyncHiredisParser
from redis.asyncio.connection import (
    Connection,
    ConnectionPool,
    SSLConnection,
    UnixDomainSocketConnection,
    parse_url,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from native import pack_commands

PROGRESS_CHECK = 0.1  # seconds between moves of a batch's deadline


class _Packing:
    def pack_command(self, *args: Any) -> list[bytes]:
        """One RESP command; a first argument like 'CONFIG GET' is sent as two words."""
        head = args[0]
        if isinstance(head, (str, bytes)) and len(head.split()) > 1:
            args = (*head.split(), *args[1:])
        return [pack_commands((args,))]


class PackingConnection(_Packing, Connection):
    """TCP."""


class PackingSSLConnection(_Packing, SSLConnection):
    """TLS."""


class PackingUnixConnection(_Packing, UnixDomainSocketConnection):
    """Unix socket."""


FAST: dict[type, type] = {
    Connection: PackingConnection,
    SSLConnection: PackingSSLConnection,
    UnixDomainSocketConnection: PackingUnixConnection,
}


def connect(url: str, **options: Any) -> aioredis.Redis:
    """A client for `url` (redis://, rediss:// or unix://) with routerd's packing."""
    parsed = parse_url(url)
    kind = parsed.pop("connection_class", Connection)
    pool = ConnectionPool(connection_class=FAST.get(kind, kind), **{**options, **parsed})
    return aioredis.Redis.from_pool(pool)  # closing the client closes its pool


async def pipelined(client: aioredis.Redis, commands: Sequence[Sequence[Any]]) -> list[Any]:
    """Send `commands` in one write and read their replies; an error reply is returned in
    its command's place, as redis-py's pipelines do with `raise_on_error=False`.

    redis-py's pipeline object costs about as much as the commands themselves at routerd's
    rate: a command stack, response callbacks and a timeout armed per reply. Here the batch
    has one deadline, `socket_timeout` after the last reply. A connection that failed or timed
    out is dropped, never reused with replies still due on it.
    """
    pool: Any = client.connection_pool  # its get_connection is untyped
    conn = await pool.get_connection()
    try:
        packed = pack_commands(commands)
        try:
            return await _exchange(conn, packed, len(commands))
        except TimeoutError:
            await conn.disconnect(nowait=True)
            raise RedisTimeoutError("timeout waiting for redis") from None
    finally:
        await pool.release(conn)


async def _exchange(conn: Any, packed: bytes, n: int) -> list[Any]:
    """Write the batch and read its `n` replies."""
    async with asyncio.timeout(conn.socket_timeout):
        await conn.send_packed_command(packed, check_health=False)
    return await replies(conn, n)


async def replies(conn: Any, n: int) -> list[Any]:
    """The next `n` replies on `conn`, an error reply in its command's place; times out only
    after `socket_timeout` without one.

    A rebuild may commit 100,000 transitions in one batch: the deadline moves with progress,
    checked a few times a second rather than armed per reply.
    """
    limit: float | None = conn.socket_timeout
    loop = asyncio.get_running_loop()
    parser = conn._parser
    direct = type(parser) is _AsyncHiredisParser
    async with asyncio.timeout(limit) as deadline:
        got: list[Any] = []
        moved = loop.time()
        while len(got) < n:
            if direct:
                await _take(conn, parser, got, n)
            else:
                got.append(await _reply(conn))
            if limit is not None and (now := loop.time()) - moved > PROGRESS_CHECK:
                deadline.reschedule(now + limit)
                moved = now
        return got


async def _take(conn: Any, parser: Any, got: list[Any], n: int) -> None:
    """Replies already parsed into `got` (up to `n`), else one read from the socket.

    redis-py's `read_response` costs about 1.5 us a reply in timeouts and checks that a
    batch with one deadline does not need; this reads the same hiredis reader it would.
    """
    try:
        if not parser._connected:
            raise RedisConnectionError("connection closed")
        if not take_parsed(parser._reader, got, n):
            await parser.read_from_socket()
    except (OSError, RedisError) as err:
        await conn.disconnect(nowait=True)
        if isinstance(err, RedisConnectionError):
            raise
        raise RedisConnectionError(f"reading from redis: {err}") from err


def take_parsed(reader: Any, got: list[Any], n: int) -> bool:
    """Move the replies hiredis's `reader` has parsed into `got`, up to `n`; whether `got` has
    them all. A reply that is a connection error (e.g. LOADING) is raised: as with redis-py's
    read_response, the connection is not usable."""
    while len(got) < n:
        reply = reader.gets()
        if reply is NOT_ENOUGH_DATA:
            return False
        if isinstance(reply, RedisConnectionError):
            raise reply
        got.append(reply)
    return True


async def streamed(
    client: aioredis.Redis, batches: Sequence[Sequence[Sequence[Any]]]
) -> AsyncGenerator[list[Any], None]:
    """The replies of each batch of commands in turn (an error reply in its command's place),
    over one connection; each next batch is sent as soon as the replies before it are in, so
    Redis works on it while the caller handles them.

    Not sooner: Redis would then run the next batch before it finished writing the replies of
    this one, and they would wait for it. The next batch is written in the background: a
    write waits for Redis to read most of it, which for a batch larger than the socket's
    buffer is most of the time Redis takes to run it, so a caller handling the replies should
    let the loop run now and then (`asyncio.sleep(0)`). For rebuilds, which read every live
    hash in batches of a few thousand. Close the iterator (`contextlib.aclosing`) when
    stopping early: its connection is then dropped, not reused with replies still due on it.
    """
    pool: Any = client.connection_pool  # its get_connection is untyped
    conn = await pool.get_connection()
    due = False  # replies are owed on the connection
    sending: asyncio.Future[None] | None = None
    try:
        if batches:
            await conn.send_packed_command(pack_commands(batches[0]), check_health=False)
        for n, batch in enumerate(batches):
            due = True
            try:
                got = await replies(conn, len(batch))
            except TimeoutError:
                raise RedisTimeoutError("timeout waiting for redis") from None
            if sending is not None:
                await sending  # done, its replies being in; raises what the write raised
            if n + 1 < len(batches):
                packed = pack_commands(batches[n + 1])
                sending = asyncio.ensure_future(
                    conn.send_packed_command(packed, check_health=False)
                )
            else:
                due, sending = False, None
            yield got
    finally:
        if sending is not None:
            _forget(sending)
        if due:
            await conn.disconnect(nowait=True)
        await pool.release(conn)


def _forget(sending: asyncio.Future[None]) -> None:
    """Stop a write no reply will be read for; a failure it had is not news (the read failed)."""
    if not sending.done():
        sending.cancel()
    elif not sending.cancelled():
        sending.exception()


async def _reply(conn: Any) -> Any:
    try:
        return await conn.read_response(timeout=math.inf)  # the batch has the deadline
    except ResponseError as err:
        return err

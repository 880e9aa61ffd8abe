"""The commit line runs batches in the order they were sent, and fails loudly, never silently."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from router.redis_client import connect
from router.redis_line import CommitLine, Sent


class Opened:
    """Counts the connections the line opened."""

    def __init__(self) -> None:
        self.count = 0

    async def __call__(self) -> None:
        self.count += 1


@pytest.fixture
async def slow(redis_url: str, client: aioredis.Redis) -> AsyncIterator[aioredis.Redis]:
    """A client whose replies time out after 0.3 s of silence (`client` flushed the db)."""
    conn = connect(redis_url, socket_timeout=0.3)
    try:
        yield conn
    finally:
        await conn.aclose()


async def kill_while_owed(client: aioredis.Redis, line: CommitLine, n: int) -> list[Sent]:
    """`n` batches left waiting on the line's connection, which Redis then kills."""
    (line_id,) = await (await line.send([("CLIENT", "ID")]))
    owed = [await line.send([("BLPOP", "never", 5)])]
    owed += [await line.send([("PING",)]) for _ in range(n - 1)]
    await asyncio.sleep(0.05)  # all written and waiting on Redis
    await client.client_kill_filter(_id=line_id)
    return owed


async def test_batches_sent_back_to_back_get_their_own_replies(client: aioredis.Redis) -> None:
    line = CommitLine(client)
    first = await line.send([("SET", "k", 1), ("INCRBY", "k", 41)])
    second = await line.send([("GET", "k"), ("INCR", "missing")])
    third = await line.send([("DEL", "k")])
    assert [await first, await second, await third] == [[b"OK", 42], [b"42", 1], [1]]
    await line.close()


async def test_redis_runs_the_batches_in_the_order_they_were_sent(client: aioredis.Redis) -> None:
    line = CommitLine(client)
    sent = [await line.send([("RPUSH", "order", n)]) for n in range(50)]
    await asyncio.gather(*sent)
    assert await client.lrange("order", 0, -1) == [str(n).encode() for n in range(50)]
    await line.close()


async def test_an_error_reply_takes_its_commands_place(client: aioredis.Redis) -> None:
    line = CommitLine(client)
    replies = await (await line.send([("SET", "k", "x"), ("INCR", "k"), ("GET", "k")]))
    assert isinstance(replies[1], ResponseError) and replies[2] == b"x"
    await line.close()


async def test_a_killed_connection_fails_every_batch_owed(client: aioredis.Redis) -> None:
    line = CommitLine(client)
    for sent in await kill_while_owed(client, line, 2):
        with pytest.raises(RedisConnectionError):
            await sent
    await line.close()


async def test_the_next_send_opens_a_new_connection_and_runs_on_connect(
    client: aioredis.Redis,
) -> None:
    opened = Opened()
    line = CommitLine(client, opened)
    (waiting,) = await kill_while_owed(client, line, 1)
    with pytest.raises(RedisConnectionError):
        await waiting
    assert await (await line.send([("PING",)])) == [b"PONG"]
    assert opened.count == 2
    await line.close()


async def test_a_silent_connection_times_out_and_the_line_recovers(slow: aioredis.Redis) -> None:
    line = CommitLine(slow)
    waiting = await line.send([("BLPOP", "never", 2)])
    with pytest.raises(RedisTimeoutError):
        await waiting
    assert await (await line.send([("SET", "after", 1)])) == [b"OK"]
    await line.close()


async def test_close_fails_what_is_still_owed(client: aioredis.Redis) -> None:
    line = CommitLine(client)
    waiting = await line.send([("BLPOP", "never", 5)])
    await asyncio.sleep(0.05)
    await line.close()
    with pytest.raises(RedisConnectionError):
        await waiting


async def test_a_connection_closed_while_idle_is_replaced_at_the_next_send(
    client: aioredis.Redis,
) -> None:
    opened = Opened()
    line = CommitLine(client, opened)
    (line_id,) = await (await line.send([("CLIENT", "ID")]))
    await client.client_kill_filter(_id=line_id)  # nothing owed: no reader sees it go
    await asyncio.sleep(0.05)
    assert await (await line.send([("PING",)])) == [b"PONG"]
    assert opened.count == 2
    await line.close()


async def test_an_empty_batch_is_answered_after_the_batches_before_it(
    client: aioredis.Redis,
) -> None:
    line = CommitLine(client)
    waiting = await line.send([("BLPOP", "released", 0)])
    empty = await line.send([])
    await asyncio.sleep(0.05)
    assert not empty.done()
    await client.rpush("released", "x")
    assert await empty == [] and waiting.done()
    await line.close()


async def test_the_client_closes_its_pool_with_the_line_still_connected(redis_url: str) -> None:
    own = connect(redis_url)
    line = CommitLine(own)
    assert await (await line.send([("PING",)])) == [b"PONG"]
    await own.aclose()  # redis-py waits to hear of the connection's end, else times out
    await line.close()


async def test_a_send_waiting_for_room_is_freed_when_the_line_times_out(
    slow: aioredis.Redis,
) -> None:
    line = CommitLine(slow)
    try:
        await (await line.send([("DEBUG", "SLEEP", 0)]))
    except ResponseError:
        pytest.skip("DEBUG is disabled on this Redis")
    owed = [await line.send([("DEBUG", "SLEEP", 1.5)])]  # Redis reads nothing meanwhile
    big = ("SET", "big", b"x" * 100_000)
    async with asyncio.timeout(1.2):  # the line times out 0.3 s after Redis went silent
        while not owed[-1].done():  # written: the writes pile up until a send waits for room
            owed.append(await line.send([big]))
    with pytest.raises(RedisTimeoutError):
        await owed[-1]
    await asyncio.gather(*owed, return_exceptions=True)
    await asyncio.sleep(1.5)  # Redis awake again before the next test
    await line.close()


async def test_a_closed_line_refuses_a_send_and_opens_no_connection(
    client: aioredis.Redis,
) -> None:
    opened = Opened()
    line = CommitLine(client, opened)
    await line.close()
    with pytest.raises(RedisConnectionError, match="closed"):
        await line.send([("PING",)])
    assert opened.count == 0


async def test_a_failed_on_connect_gives_its_connection_back(client: aioredis.Redis) -> None:
    async def refuse() -> None:
        raise RedisConnectionError("scripts could not be loaded")

    line = CommitLine(client, refuse)
    before = len(await client.client_list())
    with pytest.raises(RedisConnectionError, match="scripts could not be loaded"):
        await line.send([("PING",)])
    # Kept by the line, the connection would not be in the pool for this call, which would
    # open another.
    assert len(await client.client_list()) == before
    await line.close()

"""The hiredis-packing client speaks to a real Redis like redis-py's own."""

from __future__ import annotations

import asyncio
from contextlib import aclosing

import pytest
import redis.asyncio as aioredis
from redis._parsers import _AsyncRESP2Parser
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from router.redis_client import connect, pipelined, streamed


async def test_values_round_trip(client: aioredis.Redis) -> None:
    await client.hset("h", mapping={"s": "text with spaces", "i": 7, "f": 1795440249.369636})
    assert await client.hgetall("h") == {b"s": b"text with spaces", b"i": b"7",
                                         b"f": b"1795440249.369636"}  # fmt: skip


async def test_two_word_commands_are_split(client: aioredis.Redis) -> None:
    assert isinstance(await client.config_get("appendonly"), dict)


async def test_bytes_pass_unchanged(client: aioredis.Redis) -> None:
    await client.set("b", b"\x00\xff\r\n")
    assert await client.get("b") == b"\x00\xff\r\n"


async def test_pipelined_replies_come_back_in_order(client: aioredis.Redis) -> None:
    commands = [("SET", "k", 1), ("INCRBY", "k", 41), ("GET", "k")]
    assert await pipelined(client, commands) == [b"OK", 42, b"42"]


async def test_an_error_reply_takes_its_commands_place(client: aioredis.Redis) -> None:
    replies = await pipelined(client, [("SET", "k", "x"), ("INCR", "k"), ("GET", "k")])
    assert isinstance(replies[1], ResponseError) and replies[2] == b"x"


async def test_replies_longer_than_one_socket_read_come_back_whole(
    client: aioredis.Redis,
) -> None:
    big = b"v" * 300_000  # several reads of redis-py's 64 KB each
    commands = [("SET", "big", big), ("GET", "big"), ("STRLEN", "big")]
    assert await pipelined(client, commands) == [b"OK", big, len(big)]


async def test_replies_come_back_through_redis_pys_own_parser_too(redis_url: str) -> None:
    plain = connect(redis_url, parser_class=_AsyncRESP2Parser)  # not hiredis's reader
    try:
        got = await pipelined(plain, [("SET", "p", 1), ("INCR", "nope", "x"), ("GET", "p")])
    finally:
        await plain.aclose()
    assert got[0] == b"OK" and isinstance(got[1], ResponseError) and got[2] == b"1"


async def test_a_connection_closed_by_redis_fails_the_batch(client: aioredis.Redis) -> None:
    with pytest.raises(RedisConnectionError):
        await pipelined(client, [("CLIENT", "KILL", "SKIPME", "no"), ("PING",)])


async def test_the_pool_is_usable_after_a_connection_was_closed(
    client: aioredis.Redis,
) -> None:
    with pytest.raises(RedisConnectionError):
        await pipelined(client, [("CLIENT", "KILL", "SKIPME", "no"), ("PING",)])
    assert await pipelined(client, [("PING",)]) == [b"PONG"]


async def test_the_connection_is_usable_after_an_error_reply(client: aioredis.Redis) -> None:
    await pipelined(client, [("EVALSHA", "0" * 40, 0)])
    assert await client.ping() is True


BUSY = """
local t = redis.call('TIME')
local stop = t[1] * 1000000 + t[2] + tonumber(ARGV[1])
repeat t = redis.call('TIME') until t[1] * 1000000 + t[2] >= stop
return 1
"""
PAD = "x" * 20_000  # past Redis's 16 KB reads: it answers each call before reading the next


async def test_a_batch_longer_than_the_timeout_completes_while_replies_flow(
    redis_url: str,
) -> None:
    slow = connect(redis_url, socket_timeout=0.3)
    try:
        replies = await pipelined(slow, [("EVAL", BUSY, 0, 150_000, PAD)] * 6)  # 0.9 s in all
    finally:
        await slow.aclose()
    assert replies == [1] * 6


async def test_a_reply_slower_than_the_timeout_fails_the_batch(redis_url: str) -> None:
    slow = connect(redis_url, socket_timeout=0.2)
    try:
        with pytest.raises(RedisTimeoutError):
            await pipelined(slow, [("EVAL", BUSY, 0, 600_000)])
    finally:
        await slow.aclose()


async def test_streamed_replies_come_back_in_order(client: aioredis.Redis) -> None:
    await client.rpush("l", "a", "b", "c")
    batches = [[("LINDEX", "l", 0), ("LINDEX", "l", 1)], [("LINDEX", "l", 2)]]
    assert [r async for r in streamed(client, batches)] == [[b"a", b"b"], [b"c"]]


async def test_streamed_batches_larger_than_a_socket_buffer_all_come_back(
    client: aioredis.Redis,
) -> None:
    # 3 x 2 MB of commands: each batch after the first is written while its caller works.
    key = "k" * 200
    await client.set(key, "v")
    batches = [[("GET", key)] * 10_000 for _ in range(3)]
    got = []
    async with aclosing(streamed(client, batches)) as stream:
        async for replies in stream:
            await asyncio.sleep(0.05)  # the caller at work, letting the loop run
            got.append(replies)
    assert got == [[b"v"] * 10_000] * 3


async def test_a_streamed_error_reply_takes_its_commands_place(client: aioredis.Redis) -> None:
    await client.set("k", "x")
    [replies] = [r async for r in streamed(client, [[("INCR", "k"), ("GET", "k")]])]
    assert isinstance(replies[0], ResponseError) and replies[1] == b"x"


async def test_a_stream_closed_early_leaves_the_client_usable(client: aioredis.Redis) -> None:
    await client.mset({"a": "1", "b": "2"})
    # Redis is still running the second batch (a 300 ms script) when the stream is closed.
    batches: list[list[tuple[object, ...]]] = [
        [("GET", "a")],
        [("EVAL", BUSY, 0, 300_000), ("GET", "a")],
    ]
    async with aclosing(streamed(client, batches)) as replies:
        await anext(replies)
        await asyncio.sleep(0.05)  # the caller at work: the second batch is written meanwhile
    assert await client.get("b") == b"2"  # not a reply still owed on the stream's connection

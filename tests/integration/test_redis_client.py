"""The hiredis-packing client speaks to a real Redis like redis-py's own."""

from __future__ import annotations

import redis.asyncio as aioredis


async def test_values_round_trip(client: aioredis.Redis) -> None:
    await client.hset("h", mapping={"s": "text with spaces", "i": 7, "f": 1795440249.369636})
    assert await client.hgetall("h") == {b"s": b"text with spaces", b"i": b"7",
                                         b"f": b"1795440249.369636"}  # fmt: skip


async def test_two_word_commands_are_split(client: aioredis.Redis) -> None:
    assert isinstance(await client.config_get("appendonly"), dict)


async def test_bytes_pass_unchanged(client: aioredis.Redis) -> None:
    await client.set("b", b"\x00\xff\r\n")
    assert await client.get("b") == b"\x00\xff\r\n"

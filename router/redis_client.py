"""The Redis client routerd uses: redis-py's asyncio client with commands packed by hiredis.

redis-py's asyncio connections pack every command in Python, which costs about five times
what hiredis's C packer does; routerd sends a Lua call with some twenty arguments per
transition, so the packer is one of the daemon's larger costs at load.
"""

from __future__ import annotations

from typing import Any

import hiredis
import redis.asyncio as aioredis
from redis.asyncio.connection import (
    Connection,
    ConnectionPool,
    SSLConnection,
    UnixDomainSocketConnection,
    parse_url,
)


class _HiredisPacking:
    def pack_command(self, *args: Any) -> list[bytes]:
        """One RESP command; a first argument like 'CONFIG GET' is sent as two words."""
        head = args[0]
        if isinstance(head, (str, bytes)) and len(head.split()) > 1:
            args = (*head.split(), *args[1:])
        return [hiredis.pack_command(args)]


class HiredisConnection(_HiredisPacking, Connection):
    """TCP."""


class HiredisSSLConnection(_HiredisPacking, SSLConnection):
    """TLS."""


class HiredisUnixConnection(_HiredisPacking, UnixDomainSocketConnection):
    """Unix socket."""


FAST: dict[type, type] = {
    Connection: HiredisConnection,
    SSLConnection: HiredisSSLConnection,
    UnixDomainSocketConnection: HiredisUnixConnection,
}


def connect(url: str, **options: Any) -> aioredis.Redis:
    """A client for `url` (redis://, rediss:// or unix://) with hiredis packing."""
    parsed = parse_url(url)
    kind = parsed.pop("connection_class", Connection)
    pool = ConnectionPool(connection_class=FAST.get(kind, kind), **{**options, **parsed})
    return aioredis.Redis.from_pool(pool)  # closing the client closes its pool

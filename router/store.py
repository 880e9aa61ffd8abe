"""Redis as the source of truth: each transition is one Lua script, committed before its effect."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

import redis.asyncio as aioredis
from redis.commands.core import AsyncScript

from router.errors import Conflict
from router.keys import Keys

IDEMPOTENCY_TTL = 24 * 3600


def _lua(name: str) -> str:
    return resources.files("router").joinpath("lua", f"{name}.lua").read_text()


@dataclass(frozen=True, slots=True)
class Ingested:
    """What an ingest did: the interaction's id and whether this call created it."""

    id: str
    created: bool


class Store:
    """The tenant's state in Redis, changed only through the scripts."""

    def __init__(self, client: aioredis.Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys
        self._enqueue: AsyncScript = client.register_script(_lua("enqueue"))

    async def enqueue(
        self, interaction_id: str, queue: str, fields: Mapping[str, str], idempotency_key: str
    ) -> Ingested:
        """Create the interaction queued, once per idempotency key; durable when this returns."""
        k = self.keys
        flat = [x for item in fields.items() for x in item]
        code, found = await self._enqueue(
            keys=[k.idempotency(idempotency_key), k.interaction(interaction_id), k.queue(queue),
                  k.live, k.events, k.positions],
            args=[interaction_id, IDEMPOTENCY_TTL, "queue", queue, *flat],
        )  # fmt: skip
        found_id = found.decode() if isinstance(found, bytes) else str(found)
        if code == -1:
            raise Conflict(f"interaction {interaction_id!r} exists")
        return Ingested(found_id, code == 1)

    async def interaction(self, interaction_id: str) -> dict[str, str]:
        """The interaction's stored fields (empty if unknown)."""
        raw: dict[Any, Any] = await self.client.hgetall(self.keys.interaction(interaction_id))
        return {_text(k): _text(v) for k, v in raw.items()}


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)

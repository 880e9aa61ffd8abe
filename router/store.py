"""Redis as the source of truth: each transition is one Lua script, committed before its effect."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

import redis.asyncio as aioredis
from redis.commands.core import AsyncScript

from router.config.model import RoutingConfig
from router.errors import Conflict
from router.keys import Keys

IDEMPOTENCY_TTL = 24 * 3600


def _lua(name: str) -> str:
    return resources.files("router").joinpath("lua", f"{name}.lua").read_text()


@dataclass(frozen=True, slots=True)
class OfferRef:
    """Everything a transition of one offer touches."""

    interaction_id: str
    queue: str
    channel: str
    agent_id: str
    offer_id: str


@dataclass(frozen=True, slots=True)
class Ingested:
    """What an ingest did: the interaction's id and whether this call created it."""

    id: str
    created: bool


class Store:
    """The tenant's state in Redis, changed only through the scripts."""

    def __init__(self, client: aioredis.Redis, config: RoutingConfig) -> None:
        self.client = client
        self.config = config
        self.keys = Keys(config.tenant)
        self._enqueue: AsyncScript = client.register_script(_lua("enqueue"))
        self._claim: AsyncScript = client.register_script(_lua("claim"))
        self._accept: AsyncScript = client.register_script(_lua("accept"))
        self._release: AsyncScript = client.register_script(_lua("release"))
        self._complete: AsyncScript = client.register_script(_lua("complete"))
        self._finish: AsyncScript = client.register_script(_lua("finish"))
        self._rules = {name: _capacity_rules(config, name) for name in config.channels}

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
        if code == -1:
            raise Conflict(f"interaction {interaction_id!r} exists")
        return Ingested(_text(found), code == 1)

    async def put_agent(
        self, agent_id: str, status: str, capacity: int, caps: Mapping[str, int]
    ) -> None:
        """Write an agent's status, capacity and per-channel caps, atomically (MULTI/EXEC)."""
        fields: dict[str, str | int] = {"status": status, "capacity": capacity}
        fields |= {f"cap:{ch}": n for ch, n in caps.items()}
        async with self.client.pipeline(transaction=True) as tx:
            tx.hset(self.keys.agent(agent_id), mapping=fields)  # type: ignore[arg-type]
            tx.sadd(self.keys.agents, agent_id)
            await tx.execute()

    async def claim(self, ref: OfferRef, deadline: float) -> None:
        """Reserve a queued interaction for an agent with room; Conflict if either moved on."""
        ch = self.config.channels[ref.channel]
        counted, blocking = self._rules[ch.name]
        args: list[str | int | float] = [
            deadline,
            ref.channel,
            ch.cost,
            ch.max_per_agent,
            counted,
            blocking,
        ]
        await self._run(self._claim, self._offer_keys(ref, queue=True), ref, args)

    async def accept(self, ref: OfferRef) -> None:
        """Turn the open offer into an assignment; Conflict if it is no longer open."""
        await self._run(self._accept, self._offer_keys(ref, queue=False), ref, [])

    async def release(self, ref: OfferRef, reason: str) -> None:
        """Requeue at the original position after a reject, expiry or departure."""
        keys = self._offer_keys(ref, queue=True)
        await self._run(self._release, keys, ref, [ref.channel, reason])

    async def complete(self, ref: OfferRef, wrap_until: float) -> str:
        """The agent finished: `wrap_up` until `wrap_until`, or `done` when that is 0."""
        k = self.keys
        keys = [k.interaction(ref.interaction_id), k.agent(ref.agent_id), k.live, k.events]
        args: list[str | int | float] = [ref.interaction_id, ref.agent_id, ref.channel, wrap_until]
        return await self._call(self._complete, keys, args)

    async def finish(self, ref: OfferRef, state: str, reason: str, expected: Iterable[str]) -> str:
        """Final state from one of `expected`, freeing queue place, offer or load; the old state."""
        k = self.keys
        keys = [
            k.interaction(ref.interaction_id),
            k.agent(ref.agent_id),
            k.offer(ref.offer_id),
            k.queue(ref.queue),
            k.live,
            k.events,
        ]
        args: list[str | int | float] = [ref.interaction_id, state, reason, ",".join(expected)]
        return await self._call(self._finish, keys, args)

    def _offer_keys(self, ref: OfferRef, *, queue: bool) -> list[str]:
        k = self.keys
        keys = [k.interaction(ref.interaction_id), k.agent(ref.agent_id), k.offer(ref.offer_id)]
        return [*keys, k.queue(ref.queue), k.events] if queue else [*keys, k.events]

    async def _run(
        self, script: AsyncScript, keys: list[str], ref: OfferRef, args: list[str | int | float]
    ) -> None:
        head: list[str | int | float] = [ref.interaction_id, ref.agent_id, ref.offer_id]
        await self._call(script, keys, head + args)

    async def _call(
        self, script: AsyncScript, keys: list[str], args: list[str | int | float]
    ) -> str:
        ok, detail = await script(keys=keys, args=args)
        if ok != 1:
            raise Conflict(_text(detail))
        return _text(detail)

    async def interaction(self, interaction_id: str) -> dict[str, str]:
        """The interaction's stored fields (empty if unknown)."""
        raw: dict[Any, Any] = await self.client.hgetall(self.keys.interaction(interaction_id))
        return {_text(k): _text(v) for k, v in raw.items()}


def _capacity_rules(config: RoutingConfig, channel: str) -> tuple[str, str]:
    """For claim.lua: the channels whose load counts against `channel` ("name=cost,...") and
    the channels whose work blocks it ("name,...")."""
    chans = config.channels.values()
    counted = ",".join(f"{x.name}={x.cost}" for x in chans if channel not in x.interruptible_by)
    return counted, ",".join(x.name for x in chans if channel in x.blocks)


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)

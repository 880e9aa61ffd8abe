"""Redis as the source of truth: each transition is one Lua script, committed before its effect.

The transitions are built as `Op`s (router.transitions); the store runs them, one at a time or
many in one pipeline, and reads the state back.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterable, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any, cast

import redis.asyncio as aioredis
from redis.exceptions import NoScriptError, ResponseError

from router.config.model import RoutingConfig
from router.errors import Conflict, Unavailable
from router.redis_client import pipelined, streamed
from router.redis_line import CommitLine, Sent
from router.transitions import Arg, OfferRef, Op, Transitions


@dataclass(slots=True)
class Ingested:
    """What an ingest did: the interaction's id and whether this call created it."""

    id: str
    created: bool


@dataclass(slots=True)
class Outcome:
    """A script's answer: whether it applied, its detail, and the agent-stream seq it wrote."""

    ok: bool
    detail: str
    seq: int = 0
    refused: bool = False  # Redis answered an error (out of memory, say): nothing was written


class Store:
    """The tenant's state in Redis, changed only through the scripts."""

    def __init__(self, client: aioredis.Redis, config: RoutingConfig) -> None:
        self.client = client
        self.config = config
        self.ops = Transitions(client, config)
        self.keys = self.ops.keys
        # The routing loop's two lines: new contacts' enqueues, and every other transition.
        self.intake = CommitLine(client, self.load_scripts)
        self.line = CommitLine(client, self.load_scripts)

    def reconfigure(self, config: RoutingConfig) -> None:
        """Build transitions by a new routing file of the same tenant (same keys)."""
        assert config.tenant == self.config.tenant, "another tenant is another store"
        self.config = config
        self.ops = Transitions(self.client, config)

    # -- running them ----------------------------------------------------------------------

    async def run(self, op: Op) -> Outcome:
        """Run one transition; Conflict when its compare-and-set refused (nothing written)."""
        outcome = _outcome(await op.script(keys=op.keys, args=op.args))
        if not outcome.ok:
            raise Conflict(outcome.detail)
        return outcome

    async def run_all(self, ops: Sequence[Op]) -> list[Outcome]:
        """Run transitions in order in one pipeline (one round trip); a refusal stops none."""
        if not ops:
            return []
        results = await self._pipeline(ops)
        await self._rerun(results, ops)
        return [_outcome(r) for r in results]

    async def send_all(self, ops: Sequence[Op], *, intake: bool = False) -> Sent:
        """Send transitions in order on a line (the intake line for enqueues), after every
        batch sent there before, without waiting: `outcomes` of the result tells what they
        did."""
        return await (self.intake if intake else self.line).send(_commands(ops))

    async def outcomes(self, sent: Sent, rerun: Sequence[Op] = ()) -> list[Outcome]:
        """What a batch from `send_all` did. A call that found Redis without its scripts is
        run again if it is in `rerun` (the batch's ops, when nothing sent since depends on
        them), else refused: batches after it may have run already. The scripts are loaded
        for the next ones either way."""
        results = await sent
        await self._rerun(results, rerun)
        return [_outcome(r) for r in results]

    async def _rerun(self, results: list[Any], ops: Sequence[Op]) -> None:
        """If Redis lost its script cache (a restart), the calls that met that did nothing:
        load the scripts, and run those calls again in place when their `ops` are given."""
        missing = [i for i, r in enumerate(results) if isinstance(r, NoScriptError)]
        if not missing:
            return
        await self.load_scripts()
        if ops:
            again = await self._pipeline([ops[i] for i in missing])
            for i, result in zip(missing, again, strict=True):
                results[i] = result

    async def _pipeline(self, ops: Sequence[Op]) -> list[Any]:
        return await pipelined(self.client, _commands(ops))

    async def close(self) -> None:
        """Close the routing loop's lines (the client and its pool are the caller's)."""
        await self.intake.close()
        await self.line.close()

    async def load_scripts(self) -> None:
        """Load every script into Redis's cache."""
        for script in self.ops.scripts.values():
            await self.client.script_load(script.script)

    # -- one at a time ---------------------------------------------------------------------

    async def enqueue(
        self,
        interaction_id: str,
        queue: str,
        fields: Mapping[str, Arg],
        idempotency_key: str | None,
    ) -> Ingested:
        """Create the interaction queued, once per idempotency key; durable when this returns."""
        op = self.ops.enqueue(interaction_id, queue, fields, idempotency_key)
        return ingested(_outcome(await op.script(keys=op.keys, args=op.args)), interaction_id)

    async def put_agent(
        self, agent_id: str, status: str, capacity: int, caps: Mapping[str, int]
    ) -> None:
        """Write an agent with no skills, then its status."""
        op = self.ops.agent(
            agent_id, name=agent_id, skills=b"{}", groups=b"[]", capacity=capacity, caps=caps
        )
        await self.run(op)
        await self.run(self.ops.status(agent_id, status, "test"))

    async def claim(self, ref: OfferRef, deadline: float) -> None:
        """Reserve a queued interaction for an agent; Conflict if either moved on."""
        await self.run(self.ops.claim(ref, deadline, b"{}", b""))

    async def accept(self, ref: OfferRef, now: float = 0.0) -> None:
        """Turn the open offer into an assignment; Conflict if it is no longer open."""
        await self.run(self.ops.accept(ref, now, b""))

    async def release(self, ref: OfferRef, reason: str) -> None:
        """Requeue at the original position; Conflict if the offer is no longer open."""
        await self.run(self.ops.release(ref, reason, b""))

    async def complete(self, ref: OfferRef, wrap_until: float, now: float = 0.0) -> str:
        """Wrap-up or done; the new state."""
        return (await self.run(self.ops.complete(ref, wrap_until, now, b""))).detail

    async def finish(
        self, ref: OfferRef, state: str, reason: str, expected: Iterable[str], now: float = 0.0
    ) -> str:
        """Final state from one of `expected`; the old state."""
        return (await self.run(self.ops.finish(ref, state, reason, expected, now=now))).detail

    # -- reading ---------------------------------------------------------------------------

    async def interaction(self, interaction_id: str) -> dict[str, str]:
        """The interaction's stored fields (empty if unknown)."""
        raw: dict[Any, Any] = await self.client.hgetall(self.keys.interaction(interaction_id))
        return {text(k): text(v) for k, v in raw.items()}

    async def session_owners(self, now: float) -> dict[str, tuple[str, float]]:
        """Each customer session whose stickiness has not ended: its agent and until when."""
        keys = self.keys
        found = cast(
            list[tuple[bytes, float]],
            await self.client.zrangebyscore(keys.sessions, now, "+inf", withscores=True),
        )
        if not found:
            return {}
        agents = await self.client.hmget(keys.session_owners, [s for s, _ in found])
        return {
            text(s): (text(a), until)
            for (s, until), a in zip(found, agents, strict=True)
            if a is not None
        }

    async def missed_events(self, agent_id: str, last: int) -> list[tuple[int, bytes]] | None:
        """What a client that has the agent's events up to seq `last` missed, oldest first, as
        (seq, payload); None if the kept events cannot bring it up to date: those after `last`
        were trimmed (the stream keeps the last 256), or `last` is past the agent's seq (Redis
        lost its last writes, say, and the seq runs again from lower down)."""
        # One transaction: a commit landing between the two reads would pass for lost writes.
        replies = _no_errors(await pipelined(self.client, [
            ("MULTI",),
            ("XRANGE", self.keys.agent_events(agent_id), f"{last + 1}-0", "+"),
            ("HGET", self.keys.agent(agent_id), "seq"),
            ("EXEC",),
        ]))  # fmt: skip
        entries, seq = _no_errors(replies[-1])
        events = [
            (int(eid.partition(b"-")[0]), dict(zip(f[::2], f[1::2], strict=True))[b"e"])
            for eid, f in entries
        ]
        if events:
            return events if events[0][0] == last + 1 else None
        return [] if int(seq or 0) == last else None

    async def dump(self, keys: Sequence[str], fields: Sequence[str]) -> list[bytes | None]:
        """The `fields` of every hash in `keys`, flat, in one round trip."""
        replies = _no_errors(await pipelined(self.client, [("HMGET", k, *fields) for k in keys]))
        return [value for reply in replies for value in reply]

    def hashes(
        self, chunks: Sequence[Sequence[str]], fields: Sequence[str] = ()
    ) -> AsyncGenerator[list[Any], None]:
        """Per chunk of hash keys, each hash's `fields` (`HMGET`; with none, `HGETALL`'s field,
        value, ... list), Redis reading the next chunk while the caller works on this one.

        Plain commands, not a script: a script's calls cost Redis twice what the same commands
        cost it pipelined, and a rebuild is bound by the slower of Redis and routerd.
        """
        if fields:
            tail = tuple(f.encode() for f in fields)  # encoded once, not in every command
            batches = [[("HMGET", key, *tail) for key in keys] for keys in chunks]
        else:
            batches = [[("HGETALL", key) for key in keys] for keys in chunks]
        return _checked(streamed(self.client, batches))


async def _checked(
    stream: AsyncGenerator[list[Any], None],
) -> AsyncGenerator[list[Any], None]:
    """The stream's batches; a ResponseError if a reply is one."""
    async with aclosing(stream):
        async for replies in stream:
            yield _no_errors(replies)


def _no_errors(replies: list[Any]) -> list[Any]:
    """The replies, unless one is an error: then that is raised."""
    for reply in replies:
        if isinstance(reply, ResponseError):
            raise reply
    return replies


def pairs(reply: Mapping[bytes, bytes] | Sequence[bytes]) -> dict[str, str]:
    """An `HGETALL` reply as text: a map in RESP3, a field, value, ... list in RESP2."""
    if isinstance(reply, Mapping):
        return {text(k): text(v) for k, v in reply.items()}
    return {text(reply[i]): text(reply[i + 1]) for i in range(0, len(reply), 2)}


def ingested(outcome: Outcome, interaction_id: str) -> Ingested:
    """An enqueue's outcome as an Ingested; Conflict if the id was taken, Unavailable if Redis
    refused the write."""
    if outcome.ok:
        return Ingested(outcome.detail, created=True)
    if outcome.refused:
        raise Unavailable(f"redis refused to store the contact: {outcome.detail}")
    if outcome.detail == interaction_id and outcome.seq == -1:
        raise Conflict(f"interaction {interaction_id!r} exists")
    return Ingested(outcome.detail, created=False)


def _commands(ops: Sequence[Op]) -> list[tuple[Arg, ...]]:
    # EVALSHA by hand: redis-py's Script objects add a SCRIPT EXISTS round trip per call.
    return [("EVALSHA", op.script.sha, len(op.keys), *op.keys, *op.args) for op in ops]


def _outcome(result: Any) -> Outcome:
    if isinstance(result, ResponseError):
        return Outcome(False, str(result), refused=True)
    code, detail, *rest = result
    seq = int(rest[0]) if rest else 0
    # enqueue answers -1 for a taken id: kept in seq so `ingested` can tell it from a repeat.
    return Outcome(code == 1, text(detail), -1 if code == -1 else seq)


def text(value: object) -> str:
    """A Redis reply value as str."""
    return value.decode() if isinstance(value, bytes) else str(value)

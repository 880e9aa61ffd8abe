"""The transitions as script calls: each state change an `Op` (script, keys, arguments), built
without touching Redis, so that the daemon can commit many in one pipeline and the tests can run
them one at a time."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from itertools import chain

import redis.asyncio as aioredis
from redis.commands.core import AsyncScript

from router.config.model import RoutingConfig
from router.keys import Keys

IDEMPOTENCY_TTL = 24 * 3600
Arg = str | int | float | bytes


def _lua(name: str) -> str:
    return resources.files("router").joinpath("lua", f"{name}.lua").read_text()


@dataclass(slots=True)
class OfferRef:
    """Everything a transition of one offer touches."""

    interaction_id: str
    queue: str
    channel: str
    agent_id: str
    offer_id: str


@dataclass(slots=True)
class Op:
    """One script call, not yet run; `agent` names whose stream it may append to."""

    script: AsyncScript
    keys: list[str]
    args: list[Arg]
    agent: str | None = None
    payload: bytes = b""


class Transitions:
    """Builds each transition's script call for the tenant's keys."""

    def __init__(self, client: aioredis.Redis, config: RoutingConfig) -> None:
        self.config = config
        self.keys = Keys(config.tenant)
        prelude = _lua("prelude")
        names = (
            "enqueue", "claim", "accept", "release", "complete", "finish", "status", "agent",
            "transfer", "withdraw",
        )  # fmt: skip
        # register_script only hashes the text: Redis is not asked until a script runs.
        self.scripts = {n: client.register_script(prelude + _lua(n)) for n in names}
        for name in ("update", "session"):
            self.scripts[name] = client.register_script(_lua(name))
        self._rules = {name: _capacity_rules(config, name) for name in config.channels}

    def enqueue(
        self,
        interaction_id: str,
        queue: str,
        fields: Mapping[str, Arg],
        idempotency_key: str | None,
    ) -> Op:
        """Create the interaction queued, once per idempotency key (when one is given)."""
        k = self.keys
        flat = chain.from_iterable(fields.items())
        keyed = idempotency_key is not None
        idem = k.idempotency(idempotency_key or "")
        keys = [idem, k.interaction(interaction_id), k.queue(queue), k.live, k.events, k.positions]
        return Op(
            self.scripts["enqueue"],
            keys,
            [interaction_id, IDEMPOTENCY_TTL, "1" if keyed else "0", "queue", queue, *flat],
        )

    def withdraw(self, enqueue: Op) -> Op:
        """Undo `enqueue` if it ran and nothing has touched the contact since."""
        idem, ix, queue, live, events, _ = enqueue.keys
        args: list[Arg] = [enqueue.args[0]]
        return Op(self.scripts["withdraw"], [idem, ix, queue, live, events], args)

    def agent(
        self,
        agent_id: str,
        *,
        name: str,
        skills: bytes,
        groups: bytes,
        capacity: int,
        caps: Mapping[str, int],
    ) -> Op:
        """Create or change an agent's profile (skills and groups as JSON); status is kept."""
        caps_text = ",".join(f"{ch}={n}" for ch, n in caps.items())
        keys = [self.keys.agent(agent_id), self.keys.agents]
        args: list[Arg] = [agent_id, name, skills, groups, capacity, caps_text]
        return Op(self.scripts["agent"], keys, args)

    def status(self, agent_id: str, status: str, reason: str, payload: bytes = b"") -> Op:
        """Set an agent's status, telling its stream when `payload` is given."""
        keys = [self.keys.agent(agent_id), self.keys.events, self.keys.agent_events(agent_id)]
        args: list[Arg] = [agent_id, status, reason, payload]
        return Op(self.scripts["status"], keys, args, agent_id, payload)

    def session(self, session: str, agent_id: str, until: float, now: float) -> Op:
        """The session stays with the agent until `until` (sticky routing)."""
        keys = [self.keys.sessions, self.keys.session_owners]
        return Op(self.scripts["session"], keys, [session, agent_id, until, now])

    def claim(self, ref: OfferRef, deadline: float, explain: bytes, payload: bytes) -> Op:
        """Reserve a queued interaction for an agent with room."""
        ch = self.config.channels[ref.channel]
        counted, blocking = self._rules[ch.name]
        args: list[Arg] = [deadline, ref.channel, ch.cost, ch.max_per_agent, counted, blocking]
        return self._offer("claim", ref, [*args, explain], queue=True, payload=payload)

    def accept(self, ref: OfferRef, now: float, payload: bytes) -> Op:
        """Turn the open offer into an assignment."""
        return self._offer("accept", ref, [now], queue=False, payload=payload)

    def release(self, ref: OfferRef, reason: str, payload: bytes, *, fresh: bool = False) -> Op:
        """Requeue at the original position after a reject, expiry or departure; `fresh`
        starts a new round (counted), in which only this agent is excluded."""
        args: list[Arg] = [ref.channel, reason, "1" if fresh else "0"]
        return self._offer("release", ref, args, queue=True, payload=payload)

    def complete(self, ref: OfferRef, wrap_until: float, now: float, payload: bytes) -> Op:
        """The agent finished: `wrap_up` until `wrap_until`, or `done` when that is 0."""
        k = self.keys
        keys = [k.interaction(ref.interaction_id), k.agent(ref.agent_id), k.live, k.events,
                k.agent_events(ref.agent_id)]  # fmt: skip
        args: list[Arg] = [ref.interaction_id, ref.agent_id, ref.channel, wrap_until, now, payload]
        return Op(self.scripts["complete"], keys, args, ref.agent_id, payload)

    def finish(
        self,
        ref: OfferRef,
        state: str,
        reason: str,
        expected: Iterable[str],
        *,
        now: float,
        payload: bytes = b"",
    ) -> Op:
        """Final state from one of `expected`, freeing queue place, offer or load."""
        k = self.keys
        keys = [
            k.interaction(ref.interaction_id),
            k.agent(ref.agent_id),
            k.offer(ref.offer_id),
            k.queue(ref.queue),
            k.live,
            k.events,
            k.agent_events(ref.agent_id),
        ]
        args: list[Arg] = [ref.interaction_id, state, reason, ",".join(expected), now, payload]
        return Op(self.scripts["finish"], keys, args, ref.agent_id or None, payload)

    def transfer(self, ref: OfferRef, queue: str, now: float, payload: bytes) -> Op:
        """Start a new leg in `queue`, releasing the agent the interaction had (if any)."""
        k = self.keys
        keys = [
            k.interaction(ref.interaction_id),
            k.agent(ref.agent_id),
            k.queue(ref.queue),
            k.queue(queue),
            k.events,
            k.agent_events(ref.agent_id),
            k.positions,
        ]
        args: list[Arg] = [ref.interaction_id, queue, now, payload]
        return Op(self.scripts["transfer"], keys, args, ref.agent_id or None, payload)

    def update(self, interaction_id: str, fields: Mapping[str, Arg]) -> Op:
        """Set fields of a live interaction."""
        flat = list(chain.from_iterable(fields.items()))
        return Op(self.scripts["update"], [self.keys.interaction(interaction_id)], flat)

    def _offer(
        self, name: str, ref: OfferRef, args: list[Arg], *, queue: bool, payload: bytes
    ) -> Op:
        k = self.keys
        keys = [k.interaction(ref.interaction_id), k.agent(ref.agent_id), k.offer(ref.offer_id)]
        keys += [k.queue(ref.queue), k.events] if queue else [k.events]
        keys.append(k.agent_events(ref.agent_id))
        head: list[Arg] = [ref.interaction_id, ref.agent_id, ref.offer_id]
        return Op(self.scripts[name], keys, [*head, *args, payload], ref.agent_id, payload)


def _capacity_rules(config: RoutingConfig, channel: str) -> tuple[str, str]:
    """For claim.lua: the channels whose load counts against `channel` ("name=cost,...") and
    the channels whose work blocks it ("name,...")."""
    chans = config.channels.values()
    counted = ",".join(f"{x.name}={x.cost}" for x in chans if channel not in x.interruptible_by)
    return counted, ",".join(x.name for x in chans if channel in x.blocks)

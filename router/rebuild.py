"""The engine rebuilt from Redis, the source of truth: at start and after Redis came back.

A rebuild reads every live interaction, so it is written for 100,000 of them: the routing
fields of a few thousand interactions are read in one pipelined batch, tasks are built from
templates per (queue, channel, priority, skills) rather than validated one by one, and Redis
reads the next batch while routerd turns this one into tasks, one batch ahead at a time.
"""

from __future__ import annotations

import asyncio
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any, cast

import orjson
import structlog

from router import decisions as d
from router.commits import Held
from router.config.model import RoutingConfig
from router.engine import Engine
from router.errors import InvalidInput
from router.events import InteractionArrived
from router.model import Offer, Task, TaskState
from router.snapshot import Loader
from router.store import Store, pairs
from router.tasks import check_arrival, escalate

log = structlog.get_logger("routerd.rebuild")

CHUNK = 4000
# Ids named in the warning about interactions left out, per reason.
NAMED = 20
YIELD_EVERY = 500
FIELDS = (
    "state", "queue", "channel", "pos", "arrived_at", "priority", "skills", "session", "step",
    "agent", "offer", "deadline", "excluded", "answered_at", "wrap_until", "rounds",
)  # fmt: skip
Template = tuple[int, dict[str, int], dict[str, int], tuple[str, ...], str, str]
NOT_ROUTED = "the routing file no longer routes its queue and channel"


@dataclass(slots=True)
class Rebuilt:
    """What a rebuild made, and what of Redis it could not take in."""

    decisions: list[d.Decision]  # the first routing of the rebuilt engine, not committed yet
    held: dict[str, Held]  # the Redis footprint of each live interaction
    left_out: dict[str, list[str]]  # reason -> interactions still in Redis but not routed
    trimmed: dict[str, list[str]]  # agent -> the skills, groups, caps the routing file lacks


async def rebuild(engine: Engine, store: Store) -> Rebuilt:
    """Load every agent and live interaction from Redis into the fresh `engine`, then route.

    Agents that were present get a fresh presence lease: their desktops reconnect and renew
    it. Offers whose deadline passed are requeued by the first tick; live ones keep theirs.
    Nothing is written: the caller commits the decisions.
    """
    now = engine.clock()
    keys = store.keys
    ids = await _members(store, keys.agents)
    async with aclosing(store.hashes(_chunks([keys.agent(a) for a in ids]))) as got:
        found = [f async for batch in got for f in batch]
    trimmed: dict[str, list[str]] = {}
    agents = [
        _agent(a, pairs(f), engine.config, now, trimmed) for a, f in zip(ids, found, strict=True)
    ]
    loader = Loader(engine)
    loader.agents(agents)
    builder = _Builder(engine.config, set(ids))
    ids = await _members(store, keys.live)
    seq = 0
    async with aclosing(store.hashes(_chunks([keys.interaction(i) for i in ids]), FIELDS)) as got:
        for chunk in _chunks(ids):
            for n, (ix, raw) in enumerate(zip(chunk, await anext(got), strict=True)):
                builder.add(ix, raw)
                if n % YIELD_EVERY == 0:
                    await asyncio.sleep(0)
            tasks, offers = builder.take()
            seq = max(seq, max((t.seq for t in tasks), default=0))
            loader.tasks(tasks, offers)
    sessions = await store.session_owners(now)
    decisions = loader.finish(seq, sessions)
    return Rebuilt(decisions, builder.held, builder.left_out, trimmed)


def warn(rebuilt: Rebuilt) -> None:
    """Log what the rebuild left out or trimmed: still in Redis, untouched, but someone has to
    act on it."""
    for reason, left in rebuilt.left_out.items():
        log.warning("interactions_not_rebuilt", reason=reason, count=len(left), ids=left[:NAMED])
    if rebuilt.trimmed:
        named = dict(list(rebuilt.trimmed.items())[:NAMED])
        log.warning("agent_profiles_trimmed", reason="not in the routing file",
                    count=len(rebuilt.trimmed), agents=named)  # fmt: skip


async def _members(store: Store, key: str) -> list[str]:
    # Sorted as bytes: UTF-8 keeps the order of the text, and a bytes sort is cheaper.
    members = cast(set[bytes], await store.client.smembers(key))
    return [m.decode() for m in sorted(members)]


def _chunks(items: list[str]) -> list[list[str]]:
    return [items[i : i + CHUNK] for i in range(0, len(items), CHUNK)]


def _agent(
    agent_id: str,
    f: dict[str, str],
    config: RoutingConfig,
    now: float,
    trimmed: dict[str, list[str]],
) -> dict[str, Any]:
    """The agent's record, without the skills, groups and channel caps the routing file no
    longer has (named in `trimmed`): Redis keeps them, so a file that has them again gives
    them back."""
    status = f.get("status", "offline")
    skills: dict[str, int] = orjson.loads(f.get("skills", "{}"))
    groups: list[str] = orjson.loads(f.get("groups", "[]"))
    caps = {k[4:]: int(v) for k, v in f.items() if k.startswith("cap:")}
    known_skills = {s: level for s, level in skills.items() if s in config.skills}
    known_groups = [g for g in groups if g in config.groups]
    known_caps = {c: cap for c, cap in caps.items() if c in config.channels}
    gone = [
        *(f"skills.{s}" for s in skills if s not in known_skills),
        *(f"groups.{g}" for g in groups if g not in known_groups),
        *(f"caps.{c}" for c in caps if c not in known_caps),
    ]
    if gone:
        trimmed[agent_id] = gone
    return {
        "id": agent_id,
        "skills": known_skills,
        "groups": known_groups,
        "capacity": int(f.get("capacity", config.agent_capacity)),
        "caps": known_caps,
        "status": status,
        "lease_until": now + config.presence_lease if status != "offline" else 0.0,
        "idle_since": now,
        "missed": int(f.get("missed", 0)),
    }


class _Builder:
    """Tasks, open offers and Redis footprints from dumped interaction fields."""

    def __init__(self, config: RoutingConfig, agents: set[str]) -> None:
        self.config = config
        self.agents = agents
        self.tasks: list[Task] = []
        self.offers: dict[str, Offer] = {}
        self.held: dict[str, Held] = {}
        self.left_out: dict[str, list[str]] = {}  # reason -> ids
        self._templates: dict[tuple[bytes | None, ...], Template | None] = {}

    def add(self, ix: str, raw: list[bytes | None]) -> None:
        """One interaction; left out, by reason, if it can no longer be routed (its queue or
        agent is gone).

        Called 100,000 times on a big restart: it decodes only what it needs, and builds from
        cached templates and shared constants.
        """
        (state_b, queue_b, channel_b, pos, arrived, prio, skills, session, step, agent_b,
         offer_b, deadline, excluded, answered, wrap, rounds) = raw  # fmt: skip
        state = _STATES.get(state_b)
        template = self._templates.get((queue_b, channel_b, prio, skills), _UNKNOWN)
        if template is _UNKNOWN:
            template = self._template(queue_b, channel_b, prio, skills)
        if state is None:
            self._leave_out(ix, "no state stored")
            return
        if template is None:
            self._leave_out(ix, NOT_ROUTED)
            return
        agent = agent_b.decode() if agent_b else None
        if state is not TaskState.QUEUED and agent not in self.agents:
            self._leave_out(ix, "its agent is gone")
            return
        priority, needs, preferred, groups, queue, channel = template
        offer = offer_b.decode() if offer_b else None
        # Positional: keywords cost a fifth of the whole call, 100,000 times.
        task = Task(ix, channel, queue, priority, dict(needs), dict(preferred), groups,
                    float(arrived) if arrived else 0.0, int(pos) if pos else 0, state, agent,
                    offer, _excluded(excluded) if excluded else _NONE, 0,
                    session.decode() if session else None, None, 0.0,
                    float(answered) if answered else None, float(wrap) if wrap else 0.0, None,
                    int(rounds) if rounds else 0)  # fmt: skip
        if step and step != b"0":
            for s in self.config.queues[queue].escalation[: int(step)]:
                escalate(task, s)
        if state is TaskState.OFFERED and offer is not None and agent is not None:
            self.offers[offer] = Offer(offer, ix, agent, float(deadline or 0.0))
        self.tasks.append(task)
        self.held[ix] = Held(queue, channel, agent or "", offer or "", task.session or "")

    def _leave_out(self, ix: str, reason: str) -> None:
        self.left_out.setdefault(reason, []).append(ix)

    def take(self) -> tuple[list[Task], dict[str, Offer]]:
        """The tasks and open offers added since the last take."""
        tasks, offers = self.tasks, self.offers
        self.tasks, self.offers = [], {}
        return tasks, offers

    def _template(
        self, queue: bytes | None, channel: bytes | None, prio: bytes | None, skills: bytes | None
    ) -> Template | None:
        """What a task of this queue, channel, priority and extra skills starts with; None if
        the routing file no longer has that queue (or it no longer serves the channel)."""
        ev = InteractionArrived("", (channel or b"").decode(), (queue or b"").decode(),
                                int(prio) if prio else None,
                                orjson.loads(skills or b"{}"))  # fmt: skip
        try:
            q, needs, priority = check_arrival(self.config, ev)
        except InvalidInput:
            found = None
        else:
            found = (priority, needs, dict(q.preferred), q.groups, q.name, ev.channel)
        self._templates[queue, channel, prio, skills] = found
        return found


_STATES: dict[bytes | None, TaskState] = {s.value.encode(): s for s in TaskState}
_UNKNOWN: Template = (0, {}, {}, (), "", "")  # a template not yet made
_NONE: frozenset[str] = frozenset()


def _excluded(raw: bytes) -> frozenset[str]:
    return frozenset(a for a in raw.decode().split(",") if a)

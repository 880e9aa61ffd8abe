"""Live queue figures: equal to a count over every task and agent, under random traffic."""

from __future__ import annotations

import contextlib
import random
from collections import Counter
from typing import Any

import pytest

from router import events as e
from router.clock import VirtualClock
from router.engine import Engine
from router.errors import RouterdError
from router.model import AgentStatus, TaskState
from router.stats import Stats
from tests.unit.engine_kit import BASE, make_engine, offers

# Escalation moves waiting work between buckets; sessions hold work for one agent; only
# tier1's agents serve the fast queue.
CENTER = BASE.replace(
    "    skills: {billing: 2}\n    service_level: 80% within 20s\n",
    "    skills: {billing: 2}\n    service_level: 80% within 20s\n"
    "    escalation:\n      - {after: 20s, relax_skills: {billing: 1}}\n"
    "      - {after: 40s, raise_priority: 2}\n",
).replace(
    "    service_level: 80% within 5s\n", "    service_level: 80% within 5s\n    groups: [tier1]\n"
)
GROUPS = ((), ("tier1",), ("tier2",), ("tier1", "tier2"))
SKILLS = ("en", "billing", "tech")


def reference(engine: Engine, now: float) -> list[dict[str, Any]]:
    """What queue_figures must say, counted the slow way: every task, every agent."""
    out = []
    for name, q in engine.config.queues.items():
        queued = [
            t for t in engine.tasks.values() if t.state is TaskState.QUEUED and t.queue == name
        ]
        agents = [
            a
            for a in engine.roster
            if a.holds(q.skills) and (not q.groups or set(a.groups) & set(q.groups))
        ]
        online = [a for a in agents if a.status is not AgentStatus.OFFLINE]
        load = sum(engine.roster.load(a) for a in online)
        capacity = sum(a.capacity for a in online)
        out.append(
            {
                "waiting": len(queued),
                "longest_wait": now - min((t.arrived_at for t in queued), default=now),
                "agents": dict(Counter(a.status.value for a in agents)),
                "occupancy": load / capacity if capacity else None,
            }
        )
    return out


def _step(engine: Engine, clock: VirtualClock, rng: random.Random, n: int) -> None:
    agents = [a.id for a in engine.roster]
    tasks = list(engine.tasks)
    kind = rng.choice("aaaaaluuosssctbwwd")
    if kind == "a":
        session = f"s{rng.randrange(6)}" if rng.random() < 0.4 else None
        queue = rng.choice(["support", "billing", "fast"])
        engine.handle(e.InteractionArrived(f"t{n}", "chat", queue, session_id=session))
    elif kind == "l" and len(agents) < 10:
        skills = {s: rng.randint(0, 4) for s in SKILLS}
        engine.handle(e.AgentUpserted(f"a{n}", skills, rng.choice(GROUPS)))
    elif kind == "u" and agents:  # a new profile: the cached holders must follow it
        skills = {s: rng.randint(0, 4) for s in SKILLS}
        engine.handle(e.AgentUpserted(rng.choice(agents), skills, rng.choice(GROUPS)))
    elif kind == "s" and agents:
        status = rng.choice(["available", "available", "break", "offline"])
        engine.handle(e.AgentStatusChanged(rng.choice(agents), status))
    elif kind == "o" and engine.offers:
        offer = rng.choice(list(engine.offers))
        engine.handle(e.OfferAccepted(offer) if rng.random() < 0.7 else e.OfferRejected(offer))
    elif kind == "c" and tasks:
        engine.handle(e.InteractionCompleted(rng.choice(tasks)))
    elif kind == "t" and tasks:
        engine.handle(e.InteractionTransferred(rng.choice(tasks), queue="support"))
    elif kind == "b" and tasks:
        engine.handle(e.InteractionAbandoned(rng.choice(tasks)))
    elif kind == "w":
        clock.advance_to(clock() + rng.expovariate(1 / 8))
        for agent_id in agents:
            engine.handle(e.AgentHeartbeat(agent_id))
        engine.handle(e.Tick())


def _checked(figures: list[dict[str, Any]]) -> list[dict[str, Any]]:
    keys = ("waiting", "longest_wait", "agents", "occupancy")
    return [{k: f[k] for k in keys} for f in figures]


@pytest.mark.parametrize("seed", range(60))
def test_queue_figures_equal_a_count_of_every_task_and_agent(seed: int) -> None:
    engine, clock = make_engine(CENTER)
    rng = random.Random(seed)
    stats = Stats()
    for n in range(500):
        with contextlib.suppress(RouterdError):  # refused (completing queued work): no change
            _step(engine, clock, rng, n)
        got = _checked(stats.queue_figures(engine, clock()))
        assert got == reference(engine, clock()), f"step {n}"


def test_work_held_for_a_sticky_agent_counts_as_waiting() -> None:
    engine, clock = make_engine()
    engine.handle(e.AgentUpserted("a", {"en": 2}, (), None, {"chat": 1}))
    engine.handle(e.AgentStatusChanged("a", "available"))
    first = offers(engine.handle(e.InteractionArrived("t1", "chat", "support", session_id="s")))
    engine.handle(e.OfferAccepted(first[0].offer_id))
    engine.handle(e.InteractionArrived("t2", "chat", "support", session_id="s"))
    figures = Stats().queue_figures(engine, clock(), ["support"])[0]
    assert engine.task("t2").sticky_agent == "a" and figures["waiting"] == 1


def test_a_wallboard_tick_reuses_figures_younger_than_max_age() -> None:
    engine, _ = make_engine()
    stats = Stats()
    first = stats.wallboard(engine, 100.0, max_age=0.5)
    engine.handle(e.InteractionArrived("t1", "chat", "support"))
    assert stats.wallboard(engine, 100.4, max_age=0.5) == first


def test_a_wallboard_tick_recomputes_figures_past_max_age() -> None:
    engine, _ = make_engine()
    stats = Stats()
    stats.wallboard(engine, 100.0, max_age=0.5)
    engine.handle(e.InteractionArrived("t1", "chat", "support"))
    at, queues, _ = stats.wallboard(engine, 100.5, max_age=0.5)
    assert at == 100.5 and queues[0]["waiting"] == 1


def test_a_new_engine_gets_its_own_figures() -> None:
    stats = Stats()
    old, _ = make_engine()
    stats.wallboard(old, 100.0, max_age=0.5)
    new, _ = make_engine()
    new.handle(e.InteractionArrived("t1", "chat", "support"))
    assert stats.wallboard(new, 100.1, max_age=0.5)[1][0]["waiting"] == 1

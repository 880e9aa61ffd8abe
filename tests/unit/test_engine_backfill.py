"""Work conservation under random traffic: no task waits while an eligible agent has room."""

from __future__ import annotations

import random

import pytest

from router import decisions as d
from router import events as e
from router.clock import VirtualClock
from router.config.model import RoutingConfig
from router.engine import Engine
from router.errors import Conflict
from router.model import AgentStatus, Task, TaskState
from tests.unit.engine_kit import make_engine

HOLDING = (TaskState.OFFERED, TaskState.ASSIGNED, TaskState.WRAP_UP)


def _counts(engine: Engine) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for t in engine.tasks.values():
        if t.state in HOLDING and t.agent is not None:
            per = counts.setdefault(t.agent, {})
            per[t.channel] = per.get(t.channel, 0) + 1
    return counts


def _room(cfg: RoutingConfig, capacity: int, counts: dict[str, int], channel: str) -> bool:
    """The routing file's capacity rules, written out independently of the kernel."""
    used = sum(
        n * cfg.channels[x].cost
        for x, n in counts.items()
        if channel not in cfg.channels[x].interruptible_by
    )
    blocked = any(n and channel in cfg.channels[x].blocks for x, n in counts.items())
    cap = cfg.channels[channel].max_per_agent
    return (
        not blocked
        and used + cfg.channels[channel].cost <= capacity
        and counts.get(channel, 0) < cap
    )


def _eligible_idle_agents(engine: Engine, task: Task, now: float) -> list[str]:
    cfg, counts, found = engine.config, _counts(engine), []
    for agent in engine.roster:
        if agent.status is not AgentStatus.AVAILABLE or agent.offer or agent.lease_until < now:
            continue
        if agent.id in task.excluded:
            continue
        if any(agent.skills.get(s, 0) < lvl for s, lvl in task.skills.items()):
            continue
        if task.groups and not set(task.groups) & set(agent.groups):
            continue
        if _room(cfg, agent.capacity, counts.get(agent.id, {}), task.channel):
            found.append(agent.id)
    return found


def _arrive(engine: Engine, rng: random.Random, n: int) -> list[d.Decision]:
    channel = rng.choice(["voice", "chat", "chat", "email"])
    queue = rng.choice(
        ["support", "billing"] if channel == "email" else ["support", "billing", "fast"]
    )
    return engine.handle(e.InteractionArrived(f"t{n}", channel, queue))


def _login(engine: Engine, rng: random.Random, n: int) -> list[d.Decision]:
    if len(engine.roster) >= 12:
        return []
    engine.handle(
        e.AgentUpserted(f"a{n}", {s: rng.randint(0, 5) for s in ("en", "billing", "tech")})
    )
    return engine.handle(e.AgentStatusChanged(f"a{n}", "available"))


def _answer(engine: Engine, rng: random.Random, n: int) -> list[d.Decision]:
    if not engine.offers:
        return []
    offer_id = rng.choice(list(engine.offers))
    accept = rng.random() < 2 / 3
    return engine.handle(e.OfferAccepted(offer_id) if accept else e.OfferRejected(offer_id))


def _complete(engine: Engine, rng: random.Random, n: int) -> list[d.Decision]:
    live = [t.id for t in engine.tasks.values() if t.state is TaskState.ASSIGNED]
    return engine.handle(e.InteractionCompleted(rng.choice(live))) if live else []


def _status(engine: Engine, rng: random.Random, n: int) -> list[d.Decision]:
    agents = [a.id for a in engine.roster]
    status = rng.choice(["available", "available", "break", "offline"])
    return engine.handle(e.AgentStatusChanged(rng.choice(agents), status)) if agents else []


def _abandon(engine: Engine, rng: random.Random, n: int) -> list[d.Decision]:
    tasks = list(engine.tasks)
    return engine.handle(e.InteractionAbandoned(rng.choice(tasks))) if tasks else []


def _wait(engine: Engine, rng: random.Random, n: int) -> list[d.Decision]:
    out = [x for a in list(engine.roster) for x in engine.handle(e.AgentHeartbeat(a.id))]
    clock = engine.clock
    assert isinstance(clock, VirtualClock)
    clock.advance_to(clock() + rng.expovariate(1 / 3))
    return out + engine.handle(e.Tick())


STEPS = [_arrive] * 30 + [_login] * 10 + [_answer] * 15 + [_complete] * 15
STEPS += [_status] * 8 + [_abandon] * 7 + [_wait] * 15


def _random_step(engine: Engine, rng: random.Random, n: int) -> list[d.Decision]:
    try:
        return rng.choice(STEPS)(engine, rng, n)
    except Conflict:  # e.g. abandoning a contact in wrap-up: refused, nothing changes
        return []


@pytest.mark.parametrize("seed", range(8))
def test_no_task_waits_while_an_eligible_agent_has_room(seed: int) -> None:
    engine, clock = make_engine()
    rng = random.Random(seed)
    for n in range(600):
        _random_step(engine, rng, n)
        waiting = [t for t in engine.tasks.values() if t.state is TaskState.QUEUED]
        stranded = {
            t.id: idle
            for t in waiting
            if t.sticky_agent is None and (idle := _eligible_idle_agents(engine, t, clock()))
        }
        assert stranded == {}, f"step {n}"


@pytest.mark.parametrize("seed", range(8))
def test_no_agent_is_loaded_past_its_capacity(seed: int) -> None:
    engine, _ = make_engine()
    rng = random.Random(seed)
    cfg = engine.config
    for n in range(600):
        for offer in (x for x in _random_step(engine, rng, n) if isinstance(x, d.Offered)):
            counts = _counts(engine).get(offer.agent_id, {})
            task = engine.task(offer.interaction_id)
            counts[task.channel] -= 1  # the room check applies before this offer was added
            agent = engine.agent(offer.agent_id)
            assert _room(cfg, agent.capacity, counts, task.channel), f"step {n}"


@pytest.mark.parametrize("seed", range(8))
def test_no_task_is_offered_to_two_agents_at_once(seed: int) -> None:
    engine, _ = make_engine()
    rng = random.Random(seed)
    for n in range(600):
        _random_step(engine, rng, n)
        holders = [o.task for o in engine.offers.values()]
        assert len(holders) == len(set(holders)), f"step {n}"

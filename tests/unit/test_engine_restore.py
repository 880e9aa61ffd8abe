"""Snapshot and rebuild: the daemon's restart path, and batch matching of a backlog."""

from __future__ import annotations

import itertools

import pytest

from router import decisions as d
from router import events as e
from router.clock import VirtualClock
from router.engine import Engine
from router.model import Task
from router.snapshot import restore, snapshot
from tests.unit.engine_kit import arrive, login, make_engine, offered_to, offers


def _rebuilt(engine: Engine, clock: VirtualClock) -> tuple[Engine, list[d.Decision]]:
    fresh = Engine(engine.config, clock)
    return fresh, restore(fresh, snapshot(engine))


def test_snapshot_of_a_rebuilt_engine_is_the_same() -> None:
    engine, clock = make_engine()
    login(engine, "a", {"en": 2})
    engine.handle(e.OfferAccepted(offers(arrive(engine, "t1"))[0].offer_id))
    arrive(engine, "t2", channel="voice")
    fresh, _ = _rebuilt(engine, clock)
    assert snapshot(fresh) == snapshot(engine)


def test_rebuild_requeues_offers_whose_deadline_passed_as_lapsed() -> None:
    engine, clock = make_engine()
    login(engine, "a", {"en": 2})
    offer = offers(arrive(engine, "t1"))[0]
    clock.advance_to(offer.deadline + 5)
    _, out = _rebuilt(engine, clock)
    assert d.Requeued("t1", "a", offer.offer_id, "lapsed") in out


def test_an_offer_that_lapsed_while_routerd_was_down_is_not_the_agents_miss() -> None:
    engine, clock = make_engine()  # max_missed: 2
    login(engine, "a", {"en": 2})
    clock.advance_to(offers(arrive(engine, "t1"))[0].deadline)
    engine.handle(e.Tick())  # one miss while routerd runs
    clock.advance_to(offers(arrive(engine, "t2"))[0].deadline + 5)
    agent = _rebuilt(engine, clock)[0].roster.get("a")
    assert (agent.missed, agent.status.value) == (1, "available")


def _rebuilt_with_a_live_offer() -> tuple[Engine, VirtualClock, d.Offered]:
    """An engine rebuilt 5 s before the deadline of agent a's offer of t1."""
    engine, clock = make_engine()
    login(engine, "a", {"en": 2})
    offer = offers(arrive(engine, "t1"))[0]
    clock.advance_to(offer.deadline - 5)
    return _rebuilt(engine, clock)[0], clock, offer


def test_an_offer_that_runs_out_after_a_rebuild_is_the_agents_miss() -> None:
    fresh, clock, offer = _rebuilt_with_a_live_offer()
    clock.advance_to(offer.deadline)
    assert d.Requeued("t1", "a", offer.offer_id, "expired") in fresh.handle(e.Tick())


def test_rebuild_keeps_live_offers_with_their_deadline() -> None:
    fresh, _, offer = _rebuilt_with_a_live_offer()
    assert fresh.offers[offer.offer_id].deadline == offer.deadline


def test_rebuild_routes_the_waiting_backlog() -> None:
    engine, clock = make_engine()
    for n in range(4):
        arrive(engine, f"t{n}", channel="voice")
    for name in ("a", "b", "c"):
        engine.handle(e.AgentUpserted(name, {"en": 2}))
    data = snapshot(engine)
    for agent in data["agents"]:
        agent["status"], agent["lease_until"] = "available", 2000.0
    fresh = Engine(engine.config, clock)
    assert sorted(offered_to(restore(fresh, data))) == ["t0", "t1", "t2"]


def test_batch_matching_maximizes_the_total_score() -> None:
    engine, _ = make_engine()
    arrive(engine, "needs_billing", queue="billing", channel="voice")
    arrive(engine, "needs_english", channel="voice")
    batch: list[e.Event] = [
        e.AgentUpserted("both", {"en": 2, "billing": 2}),
        e.AgentUpserted("english_only", {"en": 2}),
        e.AgentStatusChanged("both", "available"),
        e.AgentStatusChanged("english_only", "available"),
    ]
    out = engine.handle_batch(batch)
    assert offered_to(out) == {"needs_billing": "both", "needs_english": "english_only"}


def test_batch_matching_beats_every_other_assignment_on_a_small_case() -> None:
    engine, clock = make_engine()
    tasks = [("support", "voice"), ("billing", "voice"), ("fast", "voice"), ("vip", "chat")]
    for n, (queue, channel) in enumerate(tasks):
        clock.advance_to(1000.0 + 3 * n)
        arrive(engine, f"t{n}", queue=queue, channel=channel)
    profiles = [{"en": 5, "billing": 5}, {"en": 1}, {"billing": 2, "tech": 4}, {"en": 3}]
    batch: list[e.Event] = []
    for n, skills in enumerate(profiles):
        batch += [e.AgentUpserted(f"a{n}", skills), e.AgentStatusChanged(f"a{n}", "available")]
    chosen = offered_to(engine.handle_batch(batch))
    got = sum(
        _pair(engine, tasks, profiles, int(t[1:]), int(a[1:])) or 0.0 for t, a in chosen.items()
    )
    assert got == pytest.approx(_best_total(engine, tasks, profiles), abs=1e-3)


def _pair(
    engine: Engine, tasks: list[tuple[str, str]], profiles: list[dict[str, int]], n: int, a: int
) -> float | None:
    """The documented pair score, or None where the agent may not take the task."""
    w, now = engine.config.scoring, engine.clock()
    queue, skills = engine.config.queues[tasks[n][0]], profiles[a]
    if any(skills.get(s, 0) < lvl for s, lvl in queue.skills.items()):
        return None
    fit = min(1.0, sum(queue.skills.values()) / sum(skills.values()))
    urgency = (now - (1000.0 + 3 * n)) / queue.service_level.within
    return w.skill_fit * fit + w.load + w.priority * queue.priority / 10 + w.sla_urgency * urgency


def _best_total(
    engine: Engine, tasks: list[tuple[str, str]], profiles: list[dict[str, int]]
) -> float:
    """Brute force over every partial one-to-one assignment."""
    best = 0.0
    for perm in itertools.permutations([*range(len(profiles)), *[None] * len(tasks)], len(tasks)):
        pairs = [(n, a) for n, a in enumerate(perm) if a is not None]
        scores = [_pair(engine, tasks, profiles, n, a) for n, a in pairs]
        if all(x is not None for x in scores):
            best = max(best, sum(x for x in scores if x is not None))
    return best


def _task(ix: str, skills: dict[str, int], excluded: frozenset[str] = frozenset()) -> Task:
    return Task(ix, "chat", "support", 5, skills, {}, (), 1000.0, int(ix[1:]), excluded=excluded)


def test_restored_tasks_whose_skills_differ_only_in_order_share_a_bucket() -> None:
    engine, _ = make_engine()
    engine.backlog.push_many(
        [_task("t1", {"en": 1, "tech": 2}), _task("t2", {"tech": 2, "en": 1}), _task("t3", {})]
    )
    sizes = sorted(bucket.size for bucket in engine.backlog.buckets())
    assert sizes == [1, 2]


def test_restored_tasks_with_other_exclusions_get_buckets_of_their_own() -> None:
    engine, _ = make_engine()
    engine.backlog.push_many([_task("t1", {}), _task("t2", {}, frozenset({"a"}))])
    assert len(list(engine.backlog.buckets())) == 2


def test_restored_tasks_fill_the_buckets_that_arrivals_would() -> None:
    engine, _ = make_engine()
    tasks = [_task(f"t{n}", {"en": 1} if n % 2 else {"tech": 1}) for n in range(1, 7)]
    engine.backlog.push_many(tasks)
    other, _ = make_engine()
    for task in tasks:
        other.backlog.push(task)
    shape = [(b.key, b.size, b.heap[0]) for b in engine.backlog.buckets()]
    assert shape == [(b.key, b.size, b.heap[0]) for b in other.backlog.buckets()]

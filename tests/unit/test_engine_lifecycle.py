"""Wrap-up, abandon, max wait, escalation and sticky sessions."""

from __future__ import annotations

from typing import Any

from router import decisions as d
from router import events as e
from router.clock import VirtualClock
from router.engine import Engine
from router.model import TaskState
from tests.unit.engine_kit import BASE, arrive, login, make_engine, offered_to, offers

WRAP = BASE.replace(
    "chat: {cost: 25, max_per_agent: 3, wrap_up: 0s",
    "chat: {cost: 25, max_per_agent: 1, wrap_up: 30s",
)
ESCALATING = BASE.replace(
    "classification:",
    """  escalating:
    channels: [chat]
    skills: {billing: 4}
    groups: [tier1]
    max_wait: 5m
    service_level: 80% within 20s
    escalation:
      - {after: 30s, relax_skills: {billing: 2}}
      - {after: 60s, add_groups: [tier2]}
      - {after: 90s, raise_priority: 3}
classification:""",
)


def _assign(engine: Engine, task_id: str, **kw: Any) -> str:
    offer = offers(arrive(engine, task_id, **kw))[0]
    engine.handle(e.OfferAccepted(offer.offer_id))
    return offer.agent_id


def test_wrap_up_holds_the_capacity() -> None:
    engine, clock = make_engine(WRAP)
    login(engine, "a", {"en": 2})
    _assign(engine, "t1")
    engine.handle(e.InteractionCompleted("t1"))
    clock.advance_to(1029.0)
    assert offers(arrive(engine, "t2")) == []


def test_wrap_up_end_frees_the_capacity_for_waiting_work() -> None:
    engine, clock = make_engine(WRAP)
    login(engine, "a", {"en": 2})
    _assign(engine, "t1")
    engine.handle(e.InteractionCompleted("t1"))
    arrive(engine, "t2")
    clock.advance_to(1030.0)
    assert offered_to(engine.handle(e.Tick())) == {"t2": "a"}


def test_completion_without_wrap_up_finishes_the_interaction() -> None:
    engine, _ = make_engine()
    login(engine, "a", {"en": 2})
    _assign(engine, "t1")
    assert engine.handle(e.InteractionCompleted("t1")) == [
        d.Finished("t1", "done", "completed", True)
    ]


def test_abandon_of_a_waiting_contact_removes_it_from_the_queue() -> None:
    engine, _ = make_engine()
    arrive(engine, "t1")
    engine.handle(e.InteractionAbandoned("t1"))
    assert offers(login(engine, "a", {"en": 2})) == []


def test_abandon_of_an_assigned_contact_frees_the_agent() -> None:
    engine, _ = make_engine()
    login(engine, "a", {"en": 2})
    _assign(engine, "call", channel="voice")
    arrive(engine, "next", channel="voice")
    assert offered_to(engine.handle(e.InteractionAbandoned("call"))) == {"next": "a"}


def test_max_wait_expires_the_contact() -> None:
    engine, clock = make_engine(ESCALATING)
    arrive(engine, "t1", queue="escalating")
    clock.advance_to(1000.0 + 300)
    assert d.Finished("t1", "expired", "max_wait") in engine.handle(e.Tick())


def test_escalation_relaxes_the_skill_level_on_time() -> None:
    engine, clock = make_engine(ESCALATING)
    login(engine, "junior", {"billing": 2}, groups=("tier1",))
    arrive(engine, "t1", queue="escalating")
    clock.advance_to(1030.0)
    assert offered_to(engine.handle(e.Tick())) == {"t1": "junior"}


def test_escalation_does_not_fire_early() -> None:
    engine, clock = make_engine(ESCALATING)
    login(engine, "junior", {"billing": 2}, groups=("tier1",))
    arrive(engine, "t1", queue="escalating")
    clock.advance_to(1029.9)
    assert engine.handle(e.Tick()) == []


def test_escalation_widens_to_another_group() -> None:
    engine, clock = make_engine(ESCALATING)
    login(engine, "other", {"billing": 4}, groups=("tier2",))
    arrive(engine, "t1", queue="escalating")
    clock.advance_to(1059.0)
    engine.handle(e.AgentHeartbeat("other"))
    clock.advance_to(1060.0)
    assert offered_to(engine.handle(e.Tick())) == {"t1": "other"}


def test_escalation_raises_the_priority() -> None:
    engine, clock = make_engine(ESCALATING)
    arrive(engine, "t1", queue="escalating")
    clock.advance_to(1090.0)
    engine.handle(e.Tick())
    assert engine.task("t1").priority == 5 + 3


def _keep_alive(engine: Engine, clock: VirtualClock, until: float, *agents: str) -> None:
    """Advance the clock to `until` in 30 s steps, the agents' desktops beating each time."""
    while clock() < until:
        clock.advance_to(min(until, clock() + 30))
        for agent in agents:
            engine.handle(e.AgentHeartbeat(agent))


def test_sticky_session_goes_back_to_its_agent() -> None:
    engine, clock = make_engine()
    login(engine, "owner", {"en": 2, "tech": 5, "billing": 5})
    _assign(engine, "t1", session_id="s1")
    engine.handle(e.InteractionCompleted("t1"))
    login(engine, "better_fit", {"en": 1})
    _keep_alive(engine, clock, 1120.0, "owner", "better_fit")
    out = arrive(engine, "t2", session_id="s1")
    assert offered_to(out) == {"t2": "owner"} and offers(out)[0].explanation.rule == "sticky"


def test_sticky_session_routes_afresh_after_the_ttl() -> None:
    engine, clock = make_engine()
    login(engine, "owner", {"en": 2})
    _assign(engine, "t1", session_id="s1")
    engine.handle(e.InteractionCompleted("t1"))
    _keep_alive(engine, clock, 1000.0 + 301, "owner")
    login(engine, "b", {"en": 2})
    engine.handle(e.AgentStatusChanged("owner", "break"))
    assert offered_to(arrive(engine, "t2", session_id="s1")) == {"t2": "b"}


def test_sticky_session_within_the_ttl_waits_for_an_agent_on_break() -> None:
    engine, clock = make_engine()
    login(engine, "owner", {"en": 2})
    _assign(engine, "t1", session_id="s1")
    engine.handle(e.InteractionCompleted("t1"))
    _keep_alive(engine, clock, 1000.0 + 200, "owner")
    login(engine, "b", {"en": 2})
    engine.handle(e.AgentStatusChanged("owner", "break"))
    assert offers(arrive(engine, "t2", session_id="s1")) == []


def test_sticky_contact_waits_for_its_busy_agent() -> None:
    engine, _ = make_engine()
    login(engine, "a", {"en": 2})
    _assign(engine, "t1", session_id="s1", channel="voice")
    login(engine, "b", {"en": 2})
    out = arrive(engine, "t2", session_id="s1", channel="voice")
    assert offers(out) == [] and engine.task("t2").state is TaskState.QUEUED


def test_sticky_contact_falls_back_when_its_agent_leaves() -> None:
    engine, _ = make_engine()
    login(engine, "a", {"en": 2})
    _assign(engine, "t1", session_id="s1", channel="voice")
    login(engine, "b", {"en": 2})
    arrive(engine, "t2", session_id="s1", channel="voice")
    assert offered_to(engine.handle(e.AgentStatusChanged("a", "offline"))) == {"t2": "b"}

"""Task-to-agent and agent-to-task choices, eligibility and explanations."""

from __future__ import annotations

import pytest

from router import decisions as d
from router import events as e
from router.errors import InvalidInput
from tests.unit.engine_kit import BASE, arrive, login, make_engine, offered_to, offers


def test_task_goes_to_the_least_overqualified_agent() -> None:
    engine, _ = make_engine()
    login(engine, "specialist", {"en": 5, "billing": 5, "tech": 5})
    login(engine, "generalist", {"en": 2})
    assert offered_to(arrive(engine, "t1")) == {"t1": "generalist"}


def test_task_prefers_the_less_loaded_agent() -> None:
    engine, _ = make_engine()
    login(engine, "a", {"en": 2})
    login(engine, "b", {"en": 2})
    first = offers(arrive(engine, "t1"))[0]
    engine.handle(e.OfferAccepted(first.offer_id))
    other = "b" if first.agent_id == "a" else "a"
    assert offered_to(arrive(engine, "t2")) == {"t2": other}


def test_task_prefers_the_longest_idle_agent() -> None:
    engine, clock = make_engine()
    login(engine, "early", {"en": 2})
    clock.advance_to(1030.0)
    login(engine, "late", {"en": 2})
    clock.advance_to(1040.0)
    assert offered_to(arrive(engine, "t1")) == {"t1": "early"}


def test_ties_break_the_same_way_every_time() -> None:
    chosen = set()
    for _ in range(3):
        engine, _ = make_engine()
        login(engine, "x", {"en": 2})
        login(engine, "y", {"en": 2})
        chosen.add(offered_to(arrive(engine, "t1"))["t1"])
    assert chosen == {"x"}


def test_agent_below_the_required_level_is_not_offered() -> None:
    engine, _ = make_engine()
    login(engine, "junior", {"billing": 1})
    assert offers(arrive(engine, "t1", queue="billing")) == []


def test_agent_on_break_is_not_offered() -> None:
    engine, _ = make_engine()
    login(engine, "a", {"en": 2})
    engine.handle(e.AgentStatusChanged("a", "break"))
    assert offers(arrive(engine, "t1")) == []


def test_agent_whose_lease_lapsed_is_not_offered() -> None:
    engine, clock = make_engine()
    login(engine, "a", {"en": 2})
    clock.advance_to(1000.0 + 61)
    assert offers(arrive(engine, "t1")) == []


def test_lapsed_lease_sets_the_agent_offline() -> None:
    engine, clock = make_engine()
    login(engine, "a", {"en": 2})
    clock.advance_to(1000.0 + 61)
    out = engine.handle(e.Tick())
    assert d.AgentStatusSet("a", "offline", "lease_expired") in out


def test_heartbeat_keeps_the_agent_routable() -> None:
    engine, clock = make_engine()
    login(engine, "a", {"en": 2})
    clock.advance_to(1050.0)
    engine.handle(e.AgentHeartbeat("a"))
    clock.advance_to(1100.0)
    assert offered_to(arrive(engine, "t1")) == {"t1": "a"}


def test_channel_cap_limits_concurrent_chats() -> None:
    engine, _ = make_engine()
    login(engine, "a", {"en": 2})
    for n in range(3):
        engine.handle(e.OfferAccepted(offers(arrive(engine, f"t{n}"))[0].offer_id))
    assert offers(arrive(engine, "t3")) == []


def test_a_call_blocks_new_chats() -> None:
    engine, _ = make_engine()
    login(engine, "a", {"en": 2})
    engine.handle(e.OfferAccepted(offers(arrive(engine, "call", channel="voice"))[0].offer_id))
    assert offers(arrive(engine, "chat1")) == []


def test_a_chat_blocks_calls() -> None:
    engine, _ = make_engine()
    login(engine, "a", {"en": 2})
    engine.handle(e.OfferAccepted(offers(arrive(engine, "chat1"))[0].offer_id))
    assert offers(arrive(engine, "call", channel="voice")) == []


def test_a_call_may_interrupt_email_work() -> None:
    engine, _ = make_engine()
    login(engine, "a", {"en": 2})
    engine.handle(e.OfferAccepted(offers(arrive(engine, "mail", channel="email"))[0].offer_id))
    assert offered_to(arrive(engine, "call", channel="voice")) == {"call": "a"}


def test_group_restriction_excludes_other_groups() -> None:
    text = make_text_with_group_queue()
    engine, _ = make_engine(text)
    login(engine, "t2agent", {"en": 2}, groups=("tier2",))
    assert offers(arrive(engine, "t1", queue="tier1only")) == []


def test_group_restriction_admits_the_group() -> None:
    engine, _ = make_engine(make_text_with_group_queue())
    login(engine, "t1agent", {"en": 2}, groups=("tier1",))
    assert offered_to(arrive(engine, "t1", queue="tier1only")) == {"t1": "t1agent"}


def make_text_with_group_queue() -> str:
    return BASE.replace(
        "classification:",
        "  tier1only:\n    channels: [chat]\n    skills: {en: 1}\n    groups: [tier1]\n"
        "    service_level: 80% within 20s\nclassification:",
    )


def test_freed_agent_takes_the_higher_priority_task() -> None:
    engine, clock = make_engine()
    login(engine, "a", {"en": 2, "billing": 5})
    busy = offers(arrive(engine, "call", channel="voice"))[0]
    engine.handle(e.OfferAccepted(busy.offer_id))
    arrive(engine, "plain", queue="billing", channel="voice")
    clock.advance_to(1001.0)
    arrive(engine, "vip", queue="vip", channel="voice")
    out = engine.handle(e.InteractionCompleted("call"))
    assert offered_to(out) == {"vip": "a"}


def test_freed_agent_takes_the_task_closest_to_breaching_its_target() -> None:
    engine, clock = make_engine()
    login(engine, "a", {"en": 2})
    engine.handle(e.OfferAccepted(offers(arrive(engine, "call", channel="voice"))[0].offer_id))
    arrive(engine, "older_slow_target", queue="support", channel="voice")
    clock.advance_to(1006.0)
    arrive(engine, "newer_fast_target", queue="fast", channel="voice")
    clock.advance_to(1010.0)
    out = engine.handle(e.InteractionCompleted("call"))
    assert offered_to(out) == {"newer_fast_target": "a"}


def test_freed_agent_takes_the_oldest_of_equal_tasks() -> None:
    engine, clock = make_engine()
    login(engine, "a", {"en": 2})
    engine.handle(e.OfferAccepted(offers(arrive(engine, "call", channel="voice"))[0].offer_id))
    for n in range(3):
        clock.advance_to(1001.0 + n)
        arrive(engine, f"w{n}", channel="voice")
    out = engine.handle(e.InteractionCompleted("call"))
    assert offered_to(out) == {"w0": "a"}


def test_offer_explains_score_parts_and_runners_up() -> None:
    engine, _ = make_engine()
    login(engine, "a", {"en": 2})
    login(engine, "b", {"en": 3})
    login(engine, "c", {"en": 4})
    expl = offers(arrive(engine, "t1"))[0].explanation
    assert (expl.rule, expl.chosen.agent_id, [c.agent_id for c in expl.runners_up]) == (
        "best_agent",
        "a",
        ["b", "c"],
    )


def test_explanation_scores_are_ordered() -> None:
    engine, _ = make_engine()
    login(engine, "a", {"en": 2})
    login(engine, "b", {"en": 2, "tech": 3})
    expl = offers(arrive(engine, "t1"))[0].explanation
    assert expl.chosen.score > expl.runners_up[0].score


def test_explanation_parts_are_the_weighted_score() -> None:
    engine, _ = make_engine()
    login(engine, "a", {"en": 2, "tech": 2})
    expl = offers(arrive(engine, "t1"))[0].explanation
    w = expl.weights
    total = sum(w[k] * v for k, v in expl.chosen.parts.items())
    assert abs(total - expl.chosen.score) < 1e-12


def test_new_skills_bring_waiting_work_at_once() -> None:
    engine, _ = make_engine()
    login(engine, "a", {"en": 2})
    arrive(engine, "t1", queue="billing")
    out = engine.handle(e.AgentUpserted("a", {"en": 2, "billing": 3}))
    assert offered_to(out) == {"t1": "a"}


def test_unknown_queue_is_refused_naming_the_field() -> None:
    engine, _ = make_engine()
    with pytest.raises(InvalidInput) as caught:
        arrive(engine, "t1", queue="nope")
    assert caught.value.field == "queue"


def test_refused_arrival_changes_nothing() -> None:
    engine, _ = make_engine()
    with pytest.raises(InvalidInput):
        arrive(engine, "t1", queue="fast", channel="email")
    assert engine.tasks == {} and engine.seq == 0


def test_priority_out_of_range_is_refused_naming_the_field() -> None:
    engine, _ = make_engine()
    with pytest.raises(InvalidInput) as caught:
        arrive(engine, "t1", priority=11)
    assert caught.value.field == "priority"

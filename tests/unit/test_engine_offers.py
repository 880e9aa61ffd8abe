"""Offers: accept, reject, expiry, requeue in place, misses and not_responding."""

from __future__ import annotations

import pytest

from router import decisions as d
from router import events as e
from router.engine import Engine
from router.errors import NotFound
from router.model import TaskState
from tests.unit.engine_kit import BASE, arrive, login, make_engine, offered_to, offers


def test_accept_assigns_the_interaction() -> None:
    engine, _ = make_engine()
    login(engine, "a", {"en": 2})
    offer = offers(arrive(engine, "t1"))[0]
    out = engine.handle(e.OfferAccepted(offer.offer_id))
    assert out[0] == d.Assigned("t1", "a", offer.offer_id)


def test_offer_deadline_is_the_configured_timeout() -> None:
    engine, _ = make_engine()
    login(engine, "a", {"en": 2})
    assert offers(arrive(engine, "t1"))[0].deadline == 1000.0 + 15


def test_accepted_agent_with_room_gets_the_next_chat_at_once() -> None:
    engine, _ = make_engine()
    login(engine, "a", {"en": 2})
    first = offers(arrive(engine, "t1"))[0]
    arrive(engine, "t2")
    out = engine.handle(e.OfferAccepted(first.offer_id))
    assert offered_to(out) == {"t2": "a"}


def test_rejected_task_goes_to_another_agent() -> None:
    engine, _ = make_engine()
    login(engine, "a", {"en": 2})
    login(engine, "b", {"en": 3})
    offer = offers(arrive(engine, "t1"))[0]
    out = engine.handle(e.OfferRejected(offer.offer_id))
    assert offered_to(out) == {"t1": "b"}


def test_rejected_task_is_not_offered_again_to_the_same_agent() -> None:
    engine, _ = make_engine()
    login(engine, "a", {"en": 2})
    offer = offers(arrive(engine, "t1"))[0]
    out = engine.handle(e.OfferRejected(offer.offer_id))
    assert offers(out) == [] and engine.task("t1").state is TaskState.QUEUED


def _decline_round(engine: Engine, first: d.Offered) -> list[d.Decision]:
    """Reject `first`, then the offer that follows it; the decisions of the second reject."""
    second = offers(engine.handle(e.OfferRejected(first.offer_id)))[0]
    return engine.handle(e.OfferRejected(second.offer_id))


def test_a_task_every_capable_agent_declined_goes_back_to_the_first_to_decline() -> None:
    engine, _ = make_engine()
    login(engine, "a", {"en": 2})
    login(engine, "b", {"en": 3})
    first = offers(arrive(engine, "t1"))[0]
    out = _decline_round(engine, first)
    assert offered_to(out) == {"t1": first.agent_id}


def test_the_agent_that_declined_last_is_skipped_in_the_new_round() -> None:
    engine, _ = make_engine()
    login(engine, "a", {"en": 2})
    login(engine, "b", {"en": 3})
    first = offers(arrive(engine, "t1"))[0]
    _decline_round(engine, first)
    last = "b" if first.agent_id == "a" else "a"
    assert engine.task("t1").excluded == frozenset({last})


def test_an_agent_away_that_could_take_the_task_keeps_the_round_going() -> None:
    engine, _ = make_engine()
    login(engine, "a", {"en": 2})
    engine.handle(e.AgentUpserted("b", {"en": 3}, ()))  # offline, but it could take it
    offer = offers(arrive(engine, "t1"))[0]
    out = engine.handle(e.OfferRejected(offer.offer_id))
    assert offers(out) == [] and engine.task("t1").excluded == frozenset({"a"})


def test_an_agent_without_the_skills_does_not_keep_the_round_going() -> None:
    engine, _ = make_engine()
    login(engine, "a", {"en": 2})
    login(engine, "b", {"en": 3})
    engine.handle(e.AgentUpserted("c", {"billing": 3}, ()))  # no English: cannot take it
    first = offers(arrive(engine, "t1"))[0]
    assert offered_to(_decline_round(engine, first)) == {"t1": first.agent_id}


def test_a_task_every_holder_of_its_skill_declined_starts_a_new_round() -> None:
    engine, _ = make_engine()
    for i in range(20):
        login(engine, f"en{i}", {"en": 3})  # cannot take a billing task
    login(engine, "a", {"billing": 3})
    login(engine, "b", {"billing": 3})
    first = offers(arrive(engine, "t1", queue="billing"))[0]
    assert offered_to(_decline_round(engine, first)) == {"t1": first.agent_id}


def test_an_agent_given_the_skill_later_keeps_the_round_going() -> None:
    engine, _ = make_engine()
    login(engine, "a", {"billing": 3})
    login(engine, "b", {"billing": 3})
    engine.handle(e.AgentUpserted("c", {"en": 3}, ()))
    engine.handle(e.AgentUpserted("c", {"billing": 2}, ()))  # offline, but now it could
    first = offers(arrive(engine, "t1", queue="billing"))[0]
    out = _decline_round(engine, first)
    assert offers(out) == [] and engine.task("t1").excluded == frozenset({"a", "b"})


TIER2 = BASE.replace(
    "classification:",
    "  tier2:\n    channels: [chat]\n    skills: {en: 1}\n"
    "    groups: [tier2]\n    service_level: 80% within 20s\nclassification:",
)


def test_agents_outside_the_task_groups_do_not_keep_the_round_going() -> None:
    engine, _ = make_engine(TIER2)
    login(engine, "a", {"en": 2}, ("tier2",))
    login(engine, "b", {"en": 2}, ("tier2",))
    engine.handle(e.AgentUpserted("c", {"en": 3}, ("tier1",)))
    first = offers(arrive(engine, "t1", queue="tier2"))[0]
    assert offered_to(_decline_round(engine, first)) == {"t1": first.agent_id}


def test_a_group_member_with_the_skills_keeps_the_round_going() -> None:
    engine, _ = make_engine(TIER2)
    for i in range(5):
        engine.handle(e.AgentUpserted(f"t1-{i}", {"en": 3}, ("tier1",)))
    login(engine, "a", {"en": 2}, ("tier2",))
    login(engine, "b", {"en": 2}, ("tier2",))
    engine.handle(e.AgentUpserted("c", {"en": 1}, ("tier1", "tier2")))  # offline
    first = offers(arrive(engine, "t1", queue="tier2"))[0]
    out = _decline_round(engine, first)
    assert offers(out) == [] and engine.task("t1").excluded == frozenset({"a", "b"})


def test_offer_ids_stay_unique_across_rounds() -> None:
    engine, _ = make_engine()
    login(engine, "a", {"en": 2})
    login(engine, "b", {"en": 3})
    seen = [offers(arrive(engine, "t1"))[0]]
    for _ in range(7):
        seen += offers(engine.handle(e.OfferRejected(seen[-1].offer_id)))
    ids = [o.offer_id for o in seen]
    assert len(ids) == 8 and len(set(ids)) == 8


def test_requeued_task_keeps_its_place_at_the_head_of_the_queue() -> None:
    engine, clock = make_engine()
    login(engine, "a", {"en": 2})
    offer = offers(arrive(engine, "first", channel="voice"))[0]
    clock.advance_to(1001.0)
    arrive(engine, "second", channel="voice")
    clock.advance_to(1002.0)
    arrive(engine, "third", channel="voice")
    engine.handle(e.OfferRejected(offer.offer_id))  # a moves on to "second"
    assert offered_to(login(engine, "b", {"en": 2})) == {"first": "b"}


def test_offer_expires_at_its_deadline() -> None:
    engine, clock = make_engine()
    login(engine, "a", {"en": 2})
    offer = offers(arrive(engine, "t1"))[0]
    clock.advance_to(offer.deadline)
    out = engine.handle(e.Tick())
    assert d.Requeued("t1", "a", offer.offer_id, "expired") in out


def test_offer_does_not_expire_before_its_deadline() -> None:
    engine, clock = make_engine()
    login(engine, "a", {"en": 2})
    offer = offers(arrive(engine, "t1"))[0]
    clock.advance_to(offer.deadline - 0.001)
    assert engine.handle(e.Tick()) == []


def test_accepting_an_expired_offer_is_refused() -> None:
    engine, clock = make_engine()
    login(engine, "a", {"en": 2})
    offer = offers(arrive(engine, "t1"))[0]
    clock.advance_to(offer.deadline + 1)
    with pytest.raises(NotFound):
        engine.handle(e.OfferAccepted(offer.offer_id))


def test_missed_offers_make_the_agent_not_responding() -> None:
    engine, clock = make_engine()
    login(engine, "a", {"en": 2})
    for n in range(2):
        offer = offers(arrive(engine, f"t{n}"))[0]
        clock.advance_to(offer.deadline)
        out = engine.handle(e.Tick())
    assert d.AgentStatusSet("a", "not_responding", "missed_offers") in out


def test_not_responding_agent_gets_no_offers() -> None:
    engine, clock = make_engine()
    login(engine, "a", {"en": 2})
    for n in range(2):
        clock.advance_to(offers(arrive(engine, f"t{n}"))[0].deadline)
        engine.handle(e.Tick())
    assert offers(arrive(engine, "t9")) == []


def test_going_on_break_takes_back_the_pending_offer() -> None:
    engine, _ = make_engine()
    login(engine, "a", {"en": 2})
    offer = offers(arrive(engine, "t1"))[0]
    out = engine.handle(e.AgentStatusChanged("a", "break"))
    assert d.Requeued("t1", "a", offer.offer_id, "agent_left") in out


def test_decisions_of_deadlines_before_a_refused_event_are_not_lost() -> None:
    engine, clock = make_engine()
    login(engine, "a", {"en": 2})
    offer = offers(arrive(engine, "t1"))[0]
    clock.advance_to(offer.deadline)
    with pytest.raises(NotFound):
        engine.handle(e.OfferAccepted("no-such-offer"))
    assert d.Requeued("t1", "a", offer.offer_id, "expired") in engine.handle(e.Tick())

"""When the engine next needs a tick: timers that can no longer act do not wake it."""

from __future__ import annotations

from router import events as e
from tests.unit.engine_kit import arrive, login, make_engine, offers


def test_a_pending_offer_wakes_the_engine_at_its_deadline() -> None:
    engine, _ = make_engine()
    login(engine, "a", {"en": 2})
    offer = offers(arrive(engine, "t1"))[0]
    assert engine.next_deadline() == offer.deadline == 1015.0


def test_an_accepted_offer_no_longer_wakes_the_engine() -> None:
    engine, _ = make_engine()
    login(engine, "a", {"en": 2})
    engine.handle(e.OfferAccepted(offers(arrive(engine, "t1"))[0].offer_id))
    assert engine.next_deadline() == 1060.0  # the lease's end, not the offer's 1015


def test_a_renewed_lease_wakes_the_engine_at_its_new_end_only() -> None:
    engine, clock = make_engine()
    login(engine, "a", {"en": 2})
    clock.advance_to(1030.0)
    engine.handle(e.AgentHeartbeat("a"))
    assert engine.next_deadline() == 1090.0


def test_the_lease_of_an_agent_gone_offline_still_wakes_nobody() -> None:
    engine, _ = make_engine()
    login(engine, "a", {"en": 2})
    engine.handle(e.AgentStatusChanged("a", "offline"))
    assert engine.next_deadline() is None

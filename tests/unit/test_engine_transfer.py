"""Transfers: a new leg in another queue, or straight to one agent."""

from __future__ import annotations

import pytest

from router import decisions as d
from router import events as e
from router.engine import Engine
from router.errors import Conflict, InvalidInput
from router.model import TaskState
from tests.unit.engine_kit import arrive, login, make_engine, offered_to, offers
from tests.unit.test_engine_lifecycle import ESCALATING


def test_a_queued_contact_moves_to_the_target_queue() -> None:
    engine, _ = make_engine()
    arrive(engine, "t1")
    engine.handle(e.InteractionTransferred("t1", queue="billing"))
    assert engine.task("t1").queue == "billing"


def test_a_transferred_contact_is_offered_to_an_agent_of_the_new_queue() -> None:
    engine, _ = make_engine()
    login(engine, "accountant", {"billing": 3})
    arrive(engine, "t1")
    out = engine.handle(e.InteractionTransferred("t1", queue="billing"))
    assert offered_to(out) == {"t1": "accountant"}


def test_a_contact_transferred_into_its_own_queue_waits_behind_those_there() -> None:
    engine, clock = make_engine()
    for n in range(3):
        arrive(engine, f"t{n}", channel="voice")
        clock.advance_to(clock() + 1)
    engine.handle(e.InteractionTransferred("t1", queue="support"))  # a new leg, at the end
    first = offers(login(engine, "a", {"en": 2}))[0]  # t0's: one call at a time
    engine.handle(e.OfferAccepted(first.offer_id))
    assert offered_to(engine.handle(e.InteractionCompleted("t0"))) == {"t2": "a"}


def test_a_transfer_of_an_assigned_contact_frees_its_agent() -> None:
    engine, _ = make_engine()
    login(engine, "a", {"en": 2})
    offer = offers(arrive(engine, "t1", channel="voice"))[0]
    engine.handle(e.OfferAccepted(offer.offer_id))
    engine.handle(e.InteractionTransferred("t1", queue="billing"))
    assert engine.load("a") == 0


def test_the_freed_agent_takes_the_next_waiting_contact() -> None:
    engine, _ = make_engine()
    login(engine, "a", {"en": 2})
    offer = offers(arrive(engine, "t1", channel="voice"))[0]
    engine.handle(e.OfferAccepted(offer.offer_id))
    arrive(engine, "t2", channel="voice")
    out = engine.handle(e.InteractionTransferred("t1", queue="billing"))
    assert offered_to(out) == {"t2": "a"}


def test_the_transfer_is_announced_with_where_it_came_from() -> None:
    engine, _ = make_engine()
    login(engine, "a", {"en": 2})
    offer = offers(arrive(engine, "t1", channel="voice"))[0]
    engine.handle(e.OfferAccepted(offer.offer_id))
    out = engine.handle(e.InteractionTransferred("t1", queue="billing"))
    assert out[0] == d.Transferred("t1", "a", "billing", None)


def _two_busy_agents() -> Engine:
    """b holds "busy", other holds "t1"; both on voice, so neither has room."""
    engine, _ = make_engine()
    login(engine, "b", {"en": 2})
    engine.handle(e.OfferAccepted(offers(arrive(engine, "busy", channel="voice"))[0].offer_id))
    login(engine, "other", {"en": 2})
    engine.handle(e.OfferAccepted(offers(arrive(engine, "t1", channel="voice"))[0].offer_id))
    return engine


def test_a_transfer_to_a_busy_agent_waits_for_that_agent() -> None:
    engine = _two_busy_agents()
    out = engine.handle(e.InteractionTransferred("t1", agent="b"))
    assert d.Queued("t1", "support") in out and not offers(out)


def test_a_transfer_to_an_agent_is_offered_once_that_agent_has_room() -> None:
    engine = _two_busy_agents()
    engine.handle(e.InteractionTransferred("t1", agent="b"))
    assert offered_to(engine.handle(e.InteractionCompleted("busy"))) == {"t1": "b"}


def test_an_offered_contact_cannot_be_transferred() -> None:
    engine, _ = make_engine()
    login(engine, "a", {"en": 2})
    arrive(engine, "t1")
    with pytest.raises(Conflict):
        engine.handle(e.InteractionTransferred("t1", queue="billing"))


def test_a_transfer_names_a_queue_or_an_agent() -> None:
    engine, _ = make_engine()
    arrive(engine, "t1")
    with pytest.raises(InvalidInput):
        engine.handle(e.InteractionTransferred("t1"))


def test_a_refused_transfer_changes_nothing() -> None:
    engine, _ = make_engine()
    arrive(engine, "t1")
    with pytest.raises(InvalidInput):
        engine.handle(e.InteractionTransferred("t1", queue="nope"))
    assert (engine.task("t1").queue, engine.task("t1").state) == ("support", TaskState.QUEUED)


def test_the_first_legs_max_wait_does_not_expire_the_second_leg() -> None:
    engine, clock = make_engine(ESCALATING)
    arrive(engine, "t1", queue="escalating")
    clock.advance_to(1000.0 + 200)
    engine.handle(e.InteractionTransferred("t1", queue="escalating"))
    clock.advance_to(1000.0 + 300)
    engine.handle(e.Tick())
    assert engine.task("t1").state is TaskState.QUEUED

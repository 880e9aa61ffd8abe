"""Engine decisions as store transitions, and what each tells the agent's desktop.

The engine forgets a task once it is final; the Redis keys a transition touches (queue, channel,
agent, offer) are kept here, per live interaction, for as long as Redis may need them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from router import decisions as d
from router import events as e
from router.store import Store
from router.transitions import OfferRef, Op

_ANY_OPEN = ("queued", "offered", "assigned", "wrap_up")


@dataclass(slots=True)
class Held:
    """The Redis footprint of one live interaction."""

    queue: str
    channel: str
    agent: str = ""
    offer: str = ""
    session: str = ""  # the customer's session, if it has one (sticky routing)


def explain_data(expl: d.Explanation) -> dict[str, Any]:
    """An explanation as plain JSON-ready data."""
    return {
        "rule": expl.rule,
        "chosen": _candidate(expl.chosen),
        "runners_up": [_candidate(c) for c in expl.runners_up],
        "weights": dict(expl.weights),
    }


def _candidate(c: d.Candidate) -> dict[str, Any]:
    return {"agent": c.agent_id, "score": c.score, "parts": dict(c.parts)}


def offer_payload(offer_id: str, interaction_id: str, deadline: float, held: Held) -> bytes:
    """The agent-stream event of an offer (its seq is added when it is sent)."""
    return orjson.dumps(
        {
            "type": "offer",
            "offer_id": offer_id,
            "interaction_id": interaction_id,
            "deadline": deadline,
            "channel": held.channel,
            "queue": held.queue,
        }
    )


class Committer:
    """Turns events and decisions into the ops that commit them, in order."""

    def __init__(self, store: Store, clock: Callable[[], float]) -> None:
        self.store = store
        self.clock = clock
        self.held: dict[str, Held] = {}
        self._ops: dict[type, Callable[[Any, float], list[Op]]] = {
            d.Offered: self._offered,
            d.Assigned: self._assigned,
            d.Requeued: self._requeued,
            d.WrapUpStarted: self._wrap_up,
            d.Finished: self._finished,
            d.Escalated: self._escalated,
            d.AgentStatusSet: self._status_set,
            d.Queued: lambda dec, now: [],
            d.Transferred: self._transferred,
        }

    def arrived(
        self, interaction_id: str, queue: str, channel: str, session: str | None = None
    ) -> None:
        """A new interaction is live (in Redis and about to be in the engine)."""
        self.held[interaction_id] = Held(queue, channel, session=session or "")

    def for_event(self, event: e.Event) -> list[Op]:
        """What an event writes itself, before the decisions it caused."""
        if isinstance(event, e.AgentStatusChanged):
            payload = orjson.dumps({"type": "status", "status": event.status, "reason": "agent"})
            return [self.store.ops.status(event.agent_id, event.status, "agent", payload)]
        return []

    def for_decisions(
        self,
        decisions: list[d.Decision],
        observe: Callable[[d.Decision, str | None], None] | None = None,
    ) -> list[Op]:
        """The ops that commit `decisions`, in order; `observe` sees each decision first, with
        its interaction's queue as the decisions before it left it (a transfer moves it)."""
        now = self.clock()
        ops: list[Op] = []
        for dec in decisions:
            if observe is not None:
                h = self.held.get(getattr(dec, "interaction_id", ""))
                observe(dec, h.queue if h is not None else None)
            ops += self._ops[type(dec)](dec, now)
        return ops

    def _ref(self, interaction_id: str) -> tuple[Held, OfferRef]:
        h = self.held[interaction_id]
        return h, OfferRef(interaction_id, h.queue, h.channel, h.agent, h.offer)

    def _offered(self, dec: d.Offered, now: float) -> list[Op]:
        h = self.held[dec.interaction_id]
        h.agent, h.offer = dec.agent_id, dec.offer_id
        _, ref = self._ref(dec.interaction_id)
        explain = orjson.dumps(explain_data(dec.explanation))
        payload = offer_payload(dec.offer_id, dec.interaction_id, dec.deadline, h)
        return [self.store.ops.claim(ref, dec.deadline, explain, payload)]

    def _assigned(self, dec: d.Assigned, now: float) -> list[Op]:
        h, ref = self._ref(dec.interaction_id)
        h.offer = ""
        payload = orjson.dumps(
            {"type": "assigned", "offer_id": dec.offer_id, "interaction_id": dec.interaction_id}
        )
        return [self.store.ops.accept(ref, now, payload), *self._touch(h, now)]

    def _requeued(self, dec: d.Requeued, now: float) -> list[Op]:
        h, ref = self._ref(dec.interaction_id)
        h.agent, h.offer = "", ""
        payload = orjson.dumps(
            {
                "type": "offer_revoked",
                "offer_id": dec.offer_id,
                "interaction_id": dec.interaction_id,
                "reason": dec.reason,
            }
        )
        return [self.store.ops.release(ref, dec.reason, payload, fresh=dec.fresh)]

    def _touch(self, h: Held, now: float) -> list[Op]:
        """The session stays with the agent that just worked on it, as the engine keeps it."""
        if not h.session:
            return []
        until = now + self.store.config.sticky_ttl
        return [self.store.ops.session(h.session, h.agent, until, now)]

    def _wrap_up(self, dec: d.WrapUpStarted, now: float) -> list[Op]:
        h, ref = self._ref(dec.interaction_id)
        payload = orjson.dumps(
            {"type": "wrap_up", "interaction_id": dec.interaction_id, "until": dec.until}
        )
        return [self.store.ops.complete(ref, dec.until, now, payload), *self._touch(h, now)]

    def _finished(self, dec: d.Finished, now: float) -> list[Op]:
        h, ref = self._ref(dec.interaction_id)
        del self.held[dec.interaction_id]
        payload = orjson.dumps(
            {
                "type": "ended",
                "interaction_id": dec.interaction_id,
                "state": dec.state,
                "reason": dec.reason,
            }
        )
        if dec.state == "done" and dec.reason == "completed":
            return [self.store.ops.complete(ref, 0, now, payload), *self._touch(h, now)]
        expected = ("wrap_up",) if dec.state == "done" else _ANY_OPEN
        op = self.store.ops.finish(ref, dec.state, dec.reason, expected, now=now, payload=payload)
        return [op]

    def _transferred(self, dec: d.Transferred, now: float) -> list[Op]:
        h, ref = self._ref(dec.interaction_id)
        h.queue, h.agent, h.offer = dec.queue, "", ""
        payload = orjson.dumps(
            {"type": "transferred", "interaction_id": dec.interaction_id, "queue": dec.queue}
        )
        return [self.store.ops.transfer(ref, dec.queue, now, payload)]

    def _escalated(self, dec: d.Escalated, now: float) -> list[Op]:
        return [self.store.ops.update(dec.interaction_id, {"step": dec.step})]

    def _status_set(self, dec: d.AgentStatusSet, now: float) -> list[Op]:
        payload = orjson.dumps({"type": "status", "status": dec.status, "reason": dec.reason})
        return [self.store.ops.status(dec.agent_id, dec.status, dec.reason, payload)]

"""Live queue figures: counters fed by decisions, and gauges read from the engine on demand."""

from __future__ import annotations

import weakref
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import chain
from operator import attrgetter
from typing import Any

from router import decisions as d
from router.engine import Engine
from router.model import AgentStatus, TaskState

_STATUS = attrgetter("status")
_COUNTED = (d.Offered, d.Assigned, d.Finished)  # what the queues' counters count


@dataclass(slots=True)
class QueueCounters:
    """What happened in one queue since routerd started."""

    offered: int = 0  # contacts that came into the queue: arrivals and transfers in
    offers: int = 0  # offers made to agents, a contact's every try counted
    answered: int = 0
    answered_in_target: int = 0
    answer_wait: float = 0.0
    abandoned: int = 0
    expired: int = 0
    completed: int = 0


@dataclass(slots=True)
class Stats:
    """Counters per queue plus routerd-wide ones."""

    queues: dict[str, QueueCounters] = field(default_factory=dict)
    ingested: int = 0
    decisions: Counter[str] = field(default_factory=Counter)
    # The wallboards' last figures: (engine, when, queue figures, agents by status). The engine
    # is weakly held: a rebuild's old engine must be freed with the collection that follows it.
    _board: tuple[weakref.ref[Engine], float, list[dict[str, Any]], dict[str, int]] | None = None

    def counters(self, queue: str) -> QueueCounters:
        """The queue's counters, made on first use."""
        c = self.queues.get(queue)
        if c is None:
            c = self.queues[queue] = QueueCounters()
        return c

    def arrived(self, queue: str) -> None:
        """A new contact came into `queue`."""
        self.ingested += 1
        self.counters(queue).offered += 1

    def observe(self, engine: Engine, dec: d.Decision, queue: str | None) -> None:
        """Count one decision (`queue` is the interaction's, when it has one)."""
        self.decisions[type(dec).__name__] += 1
        if isinstance(dec, d.Transferred):  # a new leg, come into its queue from another
            if dec.queue != queue:
                self.counters(dec.queue).offered += 1
            return
        if queue is None or not isinstance(dec, _COUNTED):
            return
        c = self.counters(queue)
        if isinstance(dec, d.Offered):
            c.offers += 1
        elif isinstance(dec, d.Assigned):
            task = engine.tasks.get(dec.interaction_id)
            if task is not None and task.answered_at is not None:
                wait = task.answered_at - task.arrived_at
                c.answered += 1
                c.answer_wait += wait
                c.answered_in_target += wait <= engine.config.queues[queue].service_level.within
        elif isinstance(dec, d.Finished):
            # Once answered, a customer who hangs up ends a conversation: not an abandon.
            if dec.state == TaskState.ABANDONED and not dec.answered:
                c.abandoned += 1
            elif dec.state == TaskState.EXPIRED:
                c.expired += 1
            else:
                c.completed += 1

    def queue_figures(
        self, engine: Engine, now: float, names: Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        """Live figures of the named queues (default: all).

        Read from the backlog's buckets, the work held for sticky agents and the agents that
        hold each queue's skills: not from every task, since a wallboard asks every second and
        100,000 waiting contacts took some 25 ms to walk.
        """
        names = list(engine.config.queues) if names is None else names
        waiting = dict.fromkeys(names, 0)
        oldest = dict.fromkeys(names, now)
        # A bucket's head is its oldest task: positions and arrival times grow together.
        heads = ((b.queue, b.size, engine.backlog.head(b)) for b in engine.backlog.buckets())
        held = ((t.queue, 1, t) for t in map(engine.tasks.__getitem__, engine.sessions.all_held()))
        for queue, size, task in chain(heads, held):
            if queue in waiting:
                waiting[queue] += size
                oldest[queue] = min(oldest[queue], task.arrived_at)
        return [self._figures(engine, n, waiting[n], now - oldest[n]) for n in names]

    def _figures(self, engine: Engine, name: str, waiting: int, longest: float) -> dict[str, Any]:
        q = engine.config.queues[name]
        c = self.queues.get(name, QueueCounters())
        roster = engine.roster
        agents = roster.holding(q.skills, q.groups)
        statuses = Counter(map(_STATUS, agents))  # counted in C: most agents may be offline
        load = capacity = 0
        if statuses[AgentStatus.OFFLINE] < len(agents):
            for agent in agents:
                if agent.status is not AgentStatus.OFFLINE:
                    load += roster.load(agent)
                    capacity += agent.capacity
        handled = c.answered + c.abandoned
        return {
            "name": name,
            "waiting": waiting,
            "longest_wait": longest,
            "agents": {status.value: n for status, n in statuses.items() if n},
            "offered": c.offered,
            "offers": c.offers,
            "answered": c.answered,
            "abandoned": c.abandoned,
            "expired": c.expired,
            "service_level": c.answered_in_target / handled if handled else None,
            "service_level_target": q.service_level.fraction,
            "asa": c.answer_wait / c.answered if c.answered else None,
            "occupancy": load / capacity if capacity else None,
        }

    def wallboard(
        self, engine: Engine, now: float, max_age: float
    ) -> tuple[float, list[dict[str, Any]], dict[str, int]]:
        """When, every queue's figures and agents by status, as last computed for any
        wallboard if that is less than `max_age` ago: one computation a tick, however many
        supervisors watch."""
        board = self._board
        if board is None or board[0]() is not engine or not 0 <= now - board[1] < max_age:
            board = self._board = (
                weakref.ref(engine),
                now,
                self.queue_figures(engine, now),
                self.agent_figures(engine),
            )
        return board[1], board[2], board[3]

    def agent_figures(self, engine: Engine) -> dict[str, int]:
        """Agents by status."""
        return {status.value: n for status, n in Counter(map(_STATUS, engine.roster)).items()}

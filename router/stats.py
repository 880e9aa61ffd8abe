"""Live queue figures: counters fed by decisions, and gauges read from the engine on demand."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from router import decisions as d
from router.engine import Engine
from router.model import Agent, AgentStatus, TaskState


@dataclass(slots=True)
class QueueCounters:
    """What happened in one queue since routerd started."""

    offered: int = 0
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

    def observe(self, engine: Engine, dec: d.Decision, queue: str | None) -> None:
        """Count one committed decision (`queue` is the interaction's, when it has one)."""
        self.decisions[type(dec).__name__] += 1
        if queue is None:
            return
        c = self.queues.setdefault(queue, QueueCounters())
        if isinstance(dec, d.Offered):
            c.offered += 1
        elif isinstance(dec, d.Assigned):
            task = engine.tasks.get(dec.interaction_id)
            if task is not None and task.answered_at is not None:
                wait = task.answered_at - task.arrived_at
                c.answered += 1
                c.answer_wait += wait
                c.answered_in_target += wait <= engine.config.queues[queue].service_level.within
        elif isinstance(dec, d.Finished):
            if dec.state == TaskState.ABANDONED:
                c.abandoned += 1
            elif dec.state == TaskState.EXPIRED:
                c.expired += 1
            else:
                c.completed += 1

    def queue_figures(
        self, engine: Engine, now: float, names: Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        """Live figures of the named queues (default: all), from one pass over the tasks."""
        names = list(engine.config.queues) if names is None else names
        waiting = dict.fromkeys(names, 0)
        oldest = dict.fromkeys(names, now)
        for t in engine.tasks.values():
            if t.state is TaskState.QUEUED and t.queue in waiting:
                waiting[t.queue] += 1
                oldest[t.queue] = min(oldest[t.queue], t.arrived_at)
        agents = [(a, engine.roster.load(a)) for a in engine.roster]
        return [self._figures(engine, n, waiting[n], now - oldest[n], agents) for n in names]

    def _figures(
        self,
        engine: Engine,
        name: str,
        waiting: int,
        longest: float,
        agents: list[tuple[Agent, int]],
    ) -> dict[str, Any]:
        q = engine.config.queues[name]
        c = self.queues.get(name, QueueCounters())
        statuses: Counter[str] = Counter()
        load = capacity = 0
        for agent, used in agents:
            if agent.holds(q.skills):
                statuses[agent.status.value] += 1
                if agent.status is not AgentStatus.OFFLINE:
                    load += used
                    capacity += agent.capacity
        handled = c.answered + c.abandoned
        return {
            "name": name,
            "waiting": waiting,
            "longest_wait": longest,
            "agents": dict(statuses),
            "offered": c.offered,
            "answered": c.answered,
            "abandoned": c.abandoned,
            "expired": c.expired,
            "service_level": c.answered_in_target / handled if handled else None,
            "service_level_target": q.service_level.fraction,
            "asa": c.answer_wait / c.answered if c.answered else None,
            "occupancy": load / capacity if capacity else None,
        }

    def agent_figures(self, engine: Engine) -> dict[str, int]:
        """Agents by status."""
        return dict(Counter(a.status.value for a in engine.roster))

"""Dispatching: a task offered to one agent with a deadline, or left waiting in the backlog."""

from __future__ import annotations

from router import decisions as d
from router.backlog import Backlog
from router.config.model import RoutingConfig
from router.decisions import Out
from router.matcher import Matcher
from router.model import Agent, Offer, Task, TaskState
from router.roster import Roster
from router.timers import TimerKind, Timers


class Dispatcher:
    """Makes offers and frees what they held; while `batching`, leaves tasks for the batch match."""

    def __init__(
        self,
        config: RoutingConfig,
        roster: Roster,
        backlog: Backlog,
        matcher: Matcher,
        *,
        timers: Timers,
        offers: dict[str, Offer],
    ) -> None:
        self.config = config
        self.roster = roster
        self.backlog = backlog
        self.matcher = matcher
        self.timers = timers
        self.offers = offers
        self.batching = False

    def place(self, task: Task, now: float, out: Out, waiting: d.Decision | None) -> None:
        """Offer the task to its best agent now, or put it in the backlog."""
        match = None if self.batching else self.matcher.agent_for(task, now)
        if match is None:
            task.state = TaskState.QUEUED
            self.backlog.push(task)
            if waiting is not None:
                out.append(waiting)
        else:
            self.offer(task, match[0], match[1], now, out)

    def offer(self, task: Task, agent: Agent, expl: d.Explanation, now: float, out: Out) -> None:
        """Offer the task to the agent until the offer timeout; the task takes its capacity."""
        offer = Offer(
            # Unique for the task: exclusions only grow within a round, and rounds are counted.
            f"{task.id}~{task.seq}.{len(task.excluded)}.{task.step}"
            + (f"r{task.rounds}" if task.rounds else ""),
            task.id,
            agent.id,
            now + self.config.offers.timeout,
        )
        while offer.id in self.offers:
            offer.id += "+"
        self.offers[offer.id] = offer
        task.state, task.agent, task.offer = TaskState.OFFERED, agent.id, offer.id
        agent.offer = offer.id
        agent.active.add(task.id)
        self.roster.add_load(agent, task.channel, +1)
        self.roster.sync(agent)
        self.timers.add(offer.deadline, TimerKind.OFFER, offer.id)
        out.append(d.Offered(offer.id, task.id, agent.id, offer.deadline, expl))

    def release(self, agent: Agent, task: Task, now: float) -> None:
        """The task no longer holds the agent's capacity."""
        agent.active.discard(task.id)
        self.roster.add_load(agent, task.channel, -1)
        if not agent.active:
            agent.idle_since = now
        self.roster.sync(agent)

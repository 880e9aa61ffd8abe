"""The sans-I/O routing engine: events and a clock in, decisions out; no network, no Redis."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from router import decisions as d
from router import events as e
from router.backlog import Backlog
from router.clock import Clock
from router.config.model import RoutingConfig
from router.decisions import Out
from router.dispatch import Dispatcher
from router.errors import Conflict, InvalidInput, NotFound, RouterdError
from router.escalation import Escalation
from router.matcher import Matcher
from router.model import FINAL_STATES, Agent, AgentStatus, Offer, Task, TaskState
from router.presence import Presence, requested_status
from router.roster import Roster
from router.sessions import Sessions
from router.sticky import Sticky
from router.tasks import new_task
from router.timers import TimerKind, Timers


class Engine:
    """Routes interactions to agents; the caller commits each decision before acting on it."""

    def __init__(self, config: RoutingConfig, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        self.roster = Roster(config)
        self.backlog = Backlog(config, self.roster.index)
        self.matcher = Matcher(config, self.roster, self.backlog)
        self.timers = Timers()
        self.sessions = Sessions(config.sticky_ttl)
        self.tasks: dict[str, Task] = {}
        self.offers: dict[str, Offer] = {}
        self.seq = 0
        # Each part gets the shared state it works on, never the engine: none reaches back in.
        self.dispatcher = Dispatcher(
            config, self.roster, self.backlog, self.matcher, timers=self.timers, offers=self.offers
        )
        self.sticky = Sticky(
            self.sessions,
            self.tasks,
            self.dispatcher,
            roster=self.roster,
            timers=self.timers,
            weights=self.matcher.weights,
        )
        self.escalation = Escalation(
            config, self.tasks, self.dispatcher, backlog=self.backlog, timers=self.timers
        )
        self.presence = Presence(config, self.roster, self.timers)
        self._carry: Out = []
        self._handlers: dict[type, Callable[[Any, float, Out], None]] = {
            e.InteractionArrived: self._arrived,
            e.AgentUpserted: self._agent_upserted,
            e.AgentStatusChanged: self._status_changed,
            e.AgentHeartbeat: self._heartbeat,
            e.OfferAccepted: self._accepted,
            e.OfferRejected: self._rejected,
            e.OfferExpired: self._expired,
            e.InteractionCompleted: self._completed,
            e.InteractionAbandoned: self._abandoned,
            e.InteractionTransferred: self._transferred,
            e.Tick: lambda ev, now, out: None,
        }
        self._timer_handlers: dict[TimerKind, Callable[[str, float, Out], None]] = {
            TimerKind.OFFER: self._offer_timer,
            TimerKind.WRAP_UP: self._wrap_timer,
            TimerKind.LEASE: self._lease_timer,
            TimerKind.ESCALATE: self.escalation.on_timer,
            TimerKind.MAX_WAIT: self._max_wait_timer,
            TimerKind.STICKY: self.sticky.on_timer,
        }

    # -- driving ---------------------------------------------------------------------------

    def handle(self, event: e.Event) -> list[d.Decision]:
        """Apply one event at the clock's time, after whatever fell due before it."""
        now = self.clock()
        out, self._carry = self._carry, []
        if self.timers.due(now):
            self._fire_due(now, out)
        try:
            self._handlers[type(event)](event, now, out)
        except RouterdError:
            # The refused event changed nothing, but the deadlines fired before it did:
            # their decisions go out with the next call.
            self._carry = out
            raise
        return out

    def handle_batch(self, events: Iterable[e.Event]) -> list[d.Decision]:
        """Apply many events, then match everything waiting in one batch (start, bulk login)."""
        now = self.clock()
        out, self._carry = self._carry, []
        self._fire_due(now, out)
        self.dispatcher.batching = True
        try:
            for event in events:
                self._handlers[type(event)](event, now, out)
        finally:
            self.dispatcher.batching = False
        self.rebalance(now, out)
        return out

    def task(self, task_id: str) -> Task:
        """An interaction the engine still tracks (read it, don't change it), or NotFound."""
        return self._task(task_id)

    def agent(self, agent_id: str) -> Agent:
        """An agent's record (read it, don't change it), or NotFound."""
        return self.roster.get(agent_id)

    def load(self, agent_id: str) -> int:
        """Capacity units the agent's work holds now."""
        return self.roster.load(self.roster.get(agent_id))

    def next_deadline(self) -> float | None:
        """When the engine next needs a Tick: the earliest timer that may still act, if any.

        An answered offer and a renewed lease leave their timers behind, one per contact and
        one per heartbeat; those are dropped here, not woken for.
        """
        while (top := self.timers.peek()) is not None:
            when, kind, ref = top
            if not self._stale(kind, ref, when):
                return when
            self.timers.drop()
        return None

    def _stale(self, kind: TimerKind, ref: str, when: float) -> bool:
        """Whether a timer can no longer act, whatever happens before it falls due: an offer
        once gone never comes back, and a lease that is renewed or held by an agent gone
        offline only ends past this timer (coming back renews it)."""
        if kind is TimerKind.OFFER:
            return ref not in self.offers
        if kind is TimerKind.LEASE:
            return self.presence.lapsed(ref, when) is None
        return False

    def arm_waiting(self, task: Task) -> None:
        """Arm the deadlines of a task's wait: its queue's max wait and next escalation step."""
        max_wait = self.config.queues[task.queue].max_wait
        if max_wait is not None:
            self.timers.add(task.arrived_at + max_wait, TimerKind.MAX_WAIT, task.id)
        self.escalation.arm(task)

    def _fire_due(self, now: float, out: Out) -> None:
        while (due := self.timers.pop_due(now)) is not None:
            when, kind, ref = due
            self._timer_handlers[kind](ref, when, out)

    def rebalance(self, now: float, out: Out) -> None:
        """Batch-match every routable agent against the waiting tasks."""
        free = [a for a in self.roster if self.roster.routable(a)]
        for agent in free:
            self.sticky.serve(agent, now, out)
        free = [a for a in free if self.roster.routable(a)]
        if free and len(self.backlog):
            for task, agent, expl in self.matcher.batch(len(free), now):
                self.backlog.remove(task)
                self.dispatcher.offer(task, agent, expl, now, out)

    # -- interactions ----------------------------------------------------------------------

    def _arrived(self, ev: e.InteractionArrived, now: float, out: Out) -> None:
        if ev.interaction_id in self.tasks:
            raise Conflict(f"interaction {ev.interaction_id!r} exists")
        task = self._start_leg(ev, now)
        if not self.sticky.stick(task, now, out):
            self.dispatcher.place(task, now, out, d.Queued(task.id, task.queue))

    def _start_leg(self, ev: e.InteractionArrived, now: float) -> Task:
        """Track a fresh task for the event, with its max wait and escalation armed."""
        task = new_task(self.config, ev, now, self.seq + 1)  # refuses before anything changes
        self.seq += 1
        self.tasks[task.id] = task
        self.arm_waiting(task)
        return task

    def _completed(self, ev: e.InteractionCompleted, now: float, out: Out) -> None:
        task = self._task(ev.interaction_id)
        if task.state is not TaskState.ASSIGNED or task.agent is None:
            raise Conflict(f"interaction {task.id!r} is {task.state}, not assigned")
        agent = self.roster.get(task.agent)
        if task.session is not None:
            self.sessions.touch(task.session, agent.id, now)
        wrap = self.config.channels[task.channel].wrap_up
        if wrap > 0:
            task.state = TaskState.WRAP_UP
            task.wrap_until = now + wrap
            self.timers.add(now + wrap, TimerKind.WRAP_UP, task.id)
            out.append(d.WrapUpStarted(task.id, agent.id, now + wrap))
        else:
            self._finish(task, TaskState.DONE, "completed", now, out)

    def _abandoned(self, ev: e.InteractionAbandoned, now: float, out: Out) -> None:
        task = self._task(ev.interaction_id)
        if task.state in FINAL_STATES or task.state is TaskState.WRAP_UP:
            raise Conflict(f"interaction {task.id!r} is already {task.state}")
        self._finish(task, TaskState.ABANDONED, "customer", now, out)

    def _transferred(self, ev: e.InteractionTransferred, now: float, out: Out) -> None:
        """A new leg, as if it arrived now: in the target queue, or for the target agent alone."""
        task = self._task(ev.interaction_id)
        if task.state not in (TaskState.QUEUED, TaskState.ASSIGNED):
            raise Conflict(f"interaction {task.id!r} is {task.state}: not transferable")
        if (ev.queue is None) == (ev.agent is None):
            raise InvalidInput("queue", "give either a queue or an agent")
        target = self.roster.get(ev.agent) if ev.agent is not None else None
        leg = e.InteractionArrived(task.id, task.channel, ev.queue or task.queue,
                                   session_id=task.session)  # fmt: skip
        fresh = self._start_leg(leg, now)  # takes the id over; `task` is the old leg's
        if task.id in self.backlog:
            self.backlog.remove(task)
        self.sticky.drop(task)
        was = self.roster.get(task.agent) if task.agent is not None else None
        if was is not None:
            self.dispatcher.release(was, task, now)
        out.append(d.Transferred(task.id, task.agent, fresh.queue, ev.agent))
        if target is not None:
            self.sticky.hold_for(fresh, target, now + self.config.sticky_ttl, now, out)
        else:
            self.dispatcher.place(fresh, now, out, d.Queued(fresh.id, fresh.queue))
        if was is not None:
            self._backfill(was, now, out)

    def _finish(self, task: Task, state: TaskState, reason: str, now: float, out: Out) -> None:
        """Move the task to a final state, releasing whatever it held."""
        if task.id in self.backlog:
            self.backlog.remove(task)
        if task.offer is not None:
            del self.offers[task.offer]
        agent = self.roster.get(task.agent) if task.agent is not None else None
        if agent is not None and agent.offer == task.offer:
            agent.offer = None
        self.sticky.drop(task)
        task.state, task.offer, task.ended_at = state, None, now
        out.append(d.Finished(task.id, state.value, reason, task.answered_at is not None))
        if agent is not None:
            self.dispatcher.release(agent, task, now)
            self._backfill(agent, now, out)
        del self.tasks[task.id]

    def _task(self, task_id: str) -> Task:
        try:
            return self.tasks[task_id]
        except KeyError:
            raise NotFound(f"interaction {task_id!r} not found") from None

    # -- offers ----------------------------------------------------------------------------

    def _take_offer(self, offer_id: str) -> tuple[Offer, Task, Agent]:
        offer = self.offers.get(offer_id)
        if offer is None:
            raise NotFound(f"offer {offer_id!r} not found or no longer open")
        return offer, self.tasks[offer.task], self.roster.get(offer.agent)

    def _accepted(self, ev: e.OfferAccepted, now: float, out: Out) -> None:
        offer, task, agent = self._take_offer(ev.offer_id)
        del self.offers[offer.id]
        task.state, task.offer, task.answered_at = TaskState.ASSIGNED, None, now
        agent.offer, agent.missed, agent.idle_since = None, 0, now
        if task.session is not None:
            self.sessions.touch(task.session, agent.id, now)
        self.roster.sync(agent)
        out.append(d.Assigned(task.id, agent.id, offer.id))
        self._backfill(agent, now, out)

    def _rejected(self, ev: e.OfferRejected, now: float, out: Out) -> None:
        self._fall_through(self._take_offer(ev.offer_id), "rejected", now, out)

    def _expired(self, ev: e.OfferExpired, now: float, out: Out) -> None:
        self._fall_through(self._take_offer(ev.offer_id), "expired", now, out)

    def _offer_timer(self, offer_id: str, when: float, out: Out) -> None:
        offer = self.offers.get(offer_id)
        if offer is not None:
            reason = "lapsed" if offer.lapsed else "expired"
            self._fall_through(self._take_offer(offer_id), reason, when, out)

    def _fall_through(
        self, taken: tuple[Offer, Task, Agent], reason: str, now: float, out: Out
    ) -> None:
        """The offer ended without an accept: requeue the task in place, skip that agent."""
        offer, task, agent = taken
        del self.offers[offer.id]
        agent.offer = None
        self.dispatcher.release(agent, task, now)
        task.agent, task.offer = None, None
        fresh = self._skip(task, agent)
        if reason == "expired":
            agent.missed += 1
            if agent.missed >= self.config.offers.max_missed:
                self._set_status(
                    agent, AgentStatus.NOT_RESPONDING, now, out, reason="missed_offers"
                )
        self._requeue(task, offer, reason, now, out, fresh=fresh)
        self._backfill(agent, now, out)

    def _skip(self, task: Task, agent: Agent) -> bool:
        """The agent is skipped for the task from now on; True if that started a new round.

        Once every agent that could take the task has declined it, the task would wait for
        good: a new round starts instead, in which only the agent that declined last is skipped.
        """
        task.excluded = task.excluded | {agent.id}
        if len(task.excluded) < 2 or self.roster.could_be_taken(task):
            return False
        task.excluded = frozenset((agent.id,))
        task.rounds += 1
        return True

    def _requeue(
        self, task: Task, offer: Offer, reason: str, now: float, out: Out, *, fresh: bool
    ) -> None:
        out.append(d.Requeued(task.id, offer.agent, offer.id, reason, fresh))
        if not self._expire_if_overdue(task, now, out):
            self.dispatcher.place(task, now, out, None)

    # -- agents ----------------------------------------------------------------------------

    def _agent_upserted(self, ev: e.AgentUpserted, now: float, out: Out) -> None:
        agent = self.roster.upsert(ev.agent_id, ev.skills, ev.groups, ev.capacity, ev.caps)
        self.roster.sync(agent)
        self._backfill(agent, now, out)

    def _status_changed(self, ev: e.AgentStatusChanged, now: float, out: Out) -> None:
        agent = self.roster.get(ev.agent_id)
        status = requested_status(ev.status)
        if status is not AgentStatus.OFFLINE:
            self.presence.renew(agent, now)
        self._set_status(agent, status, now, out, reason=None)
        self._backfill(agent, now, out)

    def _heartbeat(self, ev: e.AgentHeartbeat, now: float, out: Out) -> None:
        self.presence.beat(self.roster.get(ev.agent_id), now)

    def _lease_timer(self, agent_id: str, when: float, out: Out) -> None:
        agent = self.presence.lapsed(agent_id, when)
        if agent is not None:
            self._set_status(agent, AgentStatus.OFFLINE, when, out, reason="lease_expired")

    def _set_status(
        self, agent: Agent, status: AgentStatus, now: float, out: Out, *, reason: str | None
    ) -> None:
        """Change the status; leaving `available` takes back the pending offer."""
        self.presence.set(agent, status, now, out, reason=reason)
        if status is not AgentStatus.AVAILABLE and agent.offer is not None:
            offer_id = agent.offer
            self._fall_through(self._take_offer(offer_id), "agent_left", now, out)
        if not self.roster.present(agent, now) or status is AgentStatus.OFFLINE:
            self.sticky.release(agent.id, now, out)
        self.roster.sync(agent)

    def _backfill(self, agent: Agent, now: float, out: Out) -> None:
        """Event-driven backfill: give a newly free agent its sticky work, else the best task."""
        if self.dispatcher.batching or not self.roster.routable(agent):
            return
        if agent.lease_until < now:
            return
        self.sticky.serve(agent, now, out)
        if len(self.backlog) and self.roster.routable(agent):
            match = self.matcher.task_for(agent, now)
            if match is not None:
                self.backlog.remove(match[0])
                self.dispatcher.offer(match[0], agent, match[1], now, out)

    # -- timers ----------------------------------------------------------------------------

    def _wrap_timer(self, task_id: str, when: float, out: Out) -> None:
        task = self.tasks.get(task_id)
        if task is not None and task.state is TaskState.WRAP_UP:
            self._finish(task, TaskState.DONE, "wrap_up_ended", when, out)

    def _max_wait_timer(self, task_id: str, when: float, out: Out) -> None:
        task = self.tasks.get(task_id)
        if task is None or task.state is not TaskState.QUEUED:
            return
        # A transfer starts a new leg; the previous leg's timer no longer applies.
        self._expire_if_overdue(task, when, out)

    def _expire_if_overdue(self, task: Task, now: float, out: Out) -> bool:
        """End the task if it has waited past its queue's max wait; whether it did."""
        max_wait = self.config.queues[task.queue].max_wait
        if max_wait is None or now < task.arrived_at + max_wait:
            return False
        self._finish(task, TaskState.EXPIRED, "max_wait", now, out)
        return True

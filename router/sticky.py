"""Sticky routing: a later contact of a session is held for the agent who owns the session."""

from __future__ import annotations

from collections.abc import Mapping

from router import decisions as d
from router.decisions import Out
from router.dispatch import Dispatcher
from router.model import Agent, Task, TaskState
from router.roster import Roster
from router.sessions import Sessions
from router.timers import TimerKind, Timers


class Sticky:
    """Offers held work to its agent alone once it has room; routes it afresh when the hold ends."""

    def __init__(
        self,
        sessions: Sessions,
        tasks: Mapping[str, Task],
        dispatcher: Dispatcher,
        *,
        roster: Roster,
        timers: Timers,
        weights: Mapping[str, float],
    ) -> None:
        self.sessions = sessions
        self.tasks = tasks
        self.dispatcher = dispatcher
        self.roster = roster
        self.timers = timers
        self.weights = weights

    def stick(self, task: Task, now: float, out: Out) -> bool:
        """Send a later contact of a session to its agent; False when it should route afresh."""
        owner = self.sessions.owner(task.session, now) if task.session else None
        agent = self.roster.get(owner) if owner is not None and owner in self.roster else None
        if agent is None or not self.roster.present(agent, now):
            return False
        self.hold_for(task, agent, self.sessions.until(task.session), now, out)
        return True

    def hold_for(self, task: Task, agent: Agent, until: float, now: float, out: Out) -> None:
        """Offer the task to this agent alone, now or once it has room, until `until`."""
        task.sticky_agent, task.sticky_until = agent.id, until
        if self.roster.routable(agent) and self.roster.ready(agent, task.channel):
            self.dispatcher.offer(task, agent, self._explain(agent, task), now, out)
        else:
            self.sessions.hold(agent.id, task.id)
            self.timers.add(task.sticky_until, TimerKind.STICKY, task.id)
            out.append(d.Queued(task.id, task.queue))

    def serve(self, agent: Agent, now: float, out: Out) -> None:
        """Offer the agent the work held for it, oldest first, while it has room."""
        if not self.sessions.holds_for(agent.id):
            return
        for task_id in self.sessions.held(agent.id):
            task = self.tasks[task_id]
            if self.roster.routable(agent) and self.roster.ready(agent, task.channel):
                self.sessions.unhold(agent.id, task_id)
                self.dispatcher.offer(task, agent, self._explain(agent, task), now, out)

    def drop(self, task: Task) -> None:
        """The task is leaving (finished, or transferred to a new leg): stop holding it."""
        if task.sticky_agent is not None:
            self.sessions.unhold(task.sticky_agent, task.id)

    def release(self, agent_id: str, now: float, out: Out) -> None:
        """The agent is gone: route everything held for it afresh."""
        for task_id in self.sessions.release_holds(agent_id):
            self._unstick(self.tasks[task_id], now, out)

    def on_timer(self, task_id: str, when: float, out: Out) -> None:
        """The hold's deadline: route the task afresh if it still waits for its agent."""
        task = self.tasks.get(task_id)
        if task is None or task.sticky_agent is None or task.state is not TaskState.QUEUED:
            return
        if self.sessions.unhold(task.sticky_agent, task_id):
            self._unstick(task, when, out)

    def _unstick(self, task: Task, now: float, out: Out) -> None:
        """The sticky agent is gone or the hold lapsed: route the task like any other."""
        task.sticky_agent = None
        self.dispatcher.place(task, now, out, None)

    def _explain(self, agent: Agent, task: Task) -> d.Explanation:
        cand = d.Candidate(agent.id, task.id, 0.0, {"sticky": 1.0})
        return d.Explanation("sticky", cand, (), self.weights)

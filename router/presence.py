"""Agent presence: the status an agent is in, and the lease its heartbeats keep alive."""

from __future__ import annotations

from router import decisions as d
from router.config.model import RoutingConfig
from router.decisions import Out
from router.errors import InvalidInput
from router.model import Agent, AgentStatus
from router.roster import Roster
from router.timers import TimerKind, Timers


def requested_status(status: str) -> AgentStatus:
    """The status an agent asked for, or InvalidInput; `not_responding` is routerd's to set."""
    try:
        parsed = AgentStatus(status)
    except ValueError:
        raise InvalidInput("status", f"unknown status {status!r}") from None
    if parsed is AgentStatus.NOT_RESPONDING:
        raise InvalidInput("status", "not_responding is set by routerd, not by agents")
    return parsed


class Presence:
    """Changes agents' statuses and keeps a present agent's lease armed until it lapses."""

    def __init__(self, config: RoutingConfig, roster: Roster, timers: Timers) -> None:
        self.lease = config.presence_lease
        self.roster = roster
        self.timers = timers

    def set(
        self, agent: Agent, status: AgentStatus, now: float, out: Out, *, reason: str | None
    ) -> None:
        """Record the new status, announced unless the agent set it itself (`reason` None)."""
        was = agent.status
        agent.status = status
        if status is AgentStatus.AVAILABLE:
            agent.missed = 0
            if was is not AgentStatus.AVAILABLE and not agent.active:
                agent.idle_since = now
        if status is AgentStatus.OFFLINE:
            agent.lease_until = min(agent.lease_until, now)
        if reason is not None:  # the agent's own changes are not announced back to it
            out.append(d.AgentStatusSet(agent.id, status.value, reason))

    def renew(self, agent: Agent, now: float) -> None:
        """Extend the agent's lease by the configured term from now."""
        agent.lease_until = now + self.lease
        self.timers.add(agent.lease_until, TimerKind.LEASE, agent.id)

    def beat(self, agent: Agent, now: float) -> None:
        """A heartbeat: renew the lease of an agent that is not offline."""
        if agent.status is not AgentStatus.OFFLINE:
            self.renew(agent, now)
            self.roster.sync(agent)

    def lapsed(self, agent_id: str, when: float) -> Agent | None:
        """The agent whose lease ended at `when` while it was not offline, if any."""
        agent = self.roster.get(agent_id) if agent_id in self.roster else None
        # A renewed lease leaves its old timers behind; only the one at the lease's end counts.
        if agent and agent.status is not AgentStatus.OFFLINE and agent.lease_until <= when:
            return agent
        return None

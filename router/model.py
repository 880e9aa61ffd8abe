"""Domain records the engine keeps: interactions (tasks), agents and offers, and their states."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class TaskState(StrEnum):
    """Life of an interaction; the last four are final."""

    QUEUED = "queued"
    OFFERED = "offered"
    ASSIGNED = "assigned"
    WRAP_UP = "wrap_up"
    DONE = "done"
    ABANDONED = "abandoned"
    EXPIRED = "expired"
    TRANSFERRED = "transferred"


FINAL_STATES = frozenset(
    {TaskState.DONE, TaskState.ABANDONED, TaskState.EXPIRED, TaskState.TRANSFERRED}
)


class AgentStatus(StrEnum):
    """What an agent said (or what routerd concluded) about taking work."""

    OFFLINE = "offline"
    AVAILABLE = "available"
    BREAK = "break"
    MEETING = "meeting"
    WRAP_UP = "wrap_up"
    NOT_RESPONDING = "not_responding"


@dataclass(slots=True)
class Task:
    """An interaction as the engine routes it."""

    id: str
    channel: str
    queue: str
    priority: int
    skills: dict[str, int]
    preferred: dict[str, int]
    groups: tuple[str, ...]
    arrived_at: float
    seq: int  # position in the queue, kept across requeues so a requeued task goes back in front
    state: TaskState = TaskState.QUEUED
    agent: str | None = None
    offer: str | None = None
    excluded: frozenset[str] = frozenset()  # agents that rejected or missed it
    step: int = 0  # escalation steps applied
    session: str | None = None
    sticky_agent: str | None = None
    sticky_until: float = 0.0
    answered_at: float | None = None
    wrap_until: float = 0.0
    ended_at: float | None = None
    # Times its exclusions started over, every agent that could take it having declined it.
    rounds: int = 0


@dataclass(slots=True)
class Agent:
    """An operator: profile, status, presence lease and the work it holds."""

    id: str
    slot: int
    skills: dict[str, int]
    groups: tuple[str, ...]
    capacity: int
    caps: dict[str, int]  # per-channel overrides of max_per_agent
    status: AgentStatus = AgentStatus.OFFLINE
    lease_until: float = 0.0
    idle_since: float = 0.0
    missed: int = 0  # consecutive offers that expired
    offer: str | None = None
    active: set[str] = field(default_factory=set)  # offered, assigned or wrapping-up ids

    def holds(self, skills: Mapping[str, int]) -> bool:
        """Whether the agent has every skill at the level asked or above."""
        return all(self.skills.get(s, 0) >= lvl for s, lvl in skills.items())


@dataclass(slots=True)
class Offer:
    """A reservation of one task for one agent until `deadline`."""

    id: str
    task: str
    agent: str
    deadline: float
    # Restored with its deadline already passed: it ran out while routerd was down or cut off
    # from Redis, when no answer could be taken, so it does not count as the agent's miss.
    lapsed: bool = False

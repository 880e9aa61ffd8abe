"""What the engine decides, each decision with its explanation where it chose between candidates.

Decisions are values: read them, don't change them. They are plain slotted dataclasses rather
than frozen ones because the engine makes several per interaction and frozen construction costs
about three times as much.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(slots=True)
class Candidate:
    """One candidate a decision weighed: its weighted score and the raw parts behind it."""

    agent_id: str
    interaction_id: str
    score: float
    parts: Mapping[str, float]


@dataclass(slots=True)
class Explanation:
    """Why a match was made: how it was chosen, the winner and the runners-up it beat."""

    rule: str  # best_agent | best_task | batch | sticky
    chosen: Candidate
    runners_up: tuple[Candidate, ...] = ()
    weights: Mapping[str, float] = field(default_factory=dict)


@dataclass(slots=True)
class Offered:
    """Offer the interaction to the agent until `deadline`."""

    offer_id: str
    interaction_id: str
    agent_id: str
    deadline: float
    explanation: Explanation


@dataclass(slots=True)
class Assigned:
    """The agent accepted: the interaction is theirs."""

    interaction_id: str
    agent_id: str
    offer_id: str


@dataclass(slots=True)
class Queued:
    """No agent could take the interaction now; it waits in its queue."""

    interaction_id: str
    queue: str


@dataclass(slots=True)
class Requeued:
    """An offer fell through; the interaction is back at its original place in the queue."""

    interaction_id: str
    agent_id: str
    offer_id: str
    reason: str  # rejected | expired | lapsed (ran out while routerd was down) | agent_left
    # Every agent that could take it had declined it: only this one is excluded now.
    fresh: bool = False


@dataclass(slots=True)
class Escalated:
    """An escalation step changed what the waiting interaction requires."""

    interaction_id: str
    step: int
    skills: Mapping[str, int]
    groups: tuple[str, ...]
    priority: int


@dataclass(slots=True)
class AgentStatusSet:
    """routerd changed an agent's status: not_responding after misses, offline on a lapsed lease."""

    agent_id: str
    status: str
    reason: str


@dataclass(slots=True)
class WrapUpStarted:
    """The interaction is complete; the agent's capacity stays held until `until`."""

    interaction_id: str
    agent_id: str
    until: float


@dataclass(slots=True)
class Finished:
    """The interaction reached a final state (done, abandoned, expired)."""

    interaction_id: str
    state: str
    reason: str
    answered: bool = False  # an agent had accepted it (an abandon then ends a conversation)


@dataclass(slots=True)
class Transferred:
    """The interaction left its agent (if it had one) and starts a new leg in `queue`, or
    waits for `to_agent` alone until the sticky TTL ends."""

    interaction_id: str
    from_agent: str | None
    queue: str
    to_agent: str | None


Decision = (
    Offered
    | Assigned
    | Queued
    | Requeued
    | Escalated
    | AgentStatusSet
    | WrapUpStarted
    | Finished
    | Transferred
)

# What an event handler appends its decisions to, in the order they were made.
Out = list[Decision]

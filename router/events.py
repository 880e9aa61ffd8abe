"""What the engine is told: the events its drivers feed it.

Events are values: read them, don't change them. They are plain slotted dataclasses rather than
frozen ones, as decisions are: a frozen one sets each field through `object.__setattr__`, and
an ingested contact's frozen event, classification and outcomes cost 25,700 of its 396,300
instructions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(slots=True)
class InteractionArrived:
    """A classified contact; `skills` add to the queue's own requirements."""

    interaction_id: str
    channel: str
    queue: str
    priority: int | None = None
    skills: Mapping[str, int] = field(default_factory=dict)
    session_id: str | None = None


@dataclass(slots=True)
class AgentUpserted:
    """An agent's profile was created or changed; status and work are kept."""

    agent_id: str
    skills: Mapping[str, int]
    groups: tuple[str, ...] = ()
    capacity: int | None = None
    caps: Mapping[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class AgentStatusChanged:
    """The agent set its status; any status renews the presence lease except offline."""

    agent_id: str
    status: str


@dataclass(slots=True)
class AgentHeartbeat:
    """The agent's desktop is alive: renew its presence lease."""

    agent_id: str


@dataclass(slots=True)
class OfferAccepted:
    """The agent took the offered interaction."""

    offer_id: str


@dataclass(slots=True)
class OfferRejected:
    """The agent declined the offered interaction."""

    offer_id: str


@dataclass(slots=True)
class OfferExpired:
    """The offer's deadline passed (the engine also finds this out by itself on a tick)."""

    offer_id: str


@dataclass(slots=True)
class InteractionCompleted:
    """The agent finished the interaction; wrap-up starts."""

    interaction_id: str


@dataclass(slots=True)
class InteractionAbandoned:
    """The customer left (hung up, closed the chat) before the end."""

    interaction_id: str


@dataclass(slots=True)
class InteractionTransferred:
    """Move a queued or assigned interaction to another queue, or straight to one agent."""

    interaction_id: str
    queue: str | None = None
    agent: str | None = None


@dataclass(slots=True)
class Tick:
    """Nothing happened but time: lets the engine fire what is due."""


Event = (
    InteractionArrived
    | AgentUpserted
    | AgentStatusChanged
    | AgentHeartbeat
    | OfferAccepted
    | OfferRejected
    | OfferExpired
    | InteractionCompleted
    | InteractionAbandoned
    | InteractionTransferred
    | Tick
)

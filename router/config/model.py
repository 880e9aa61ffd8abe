"""The validated routing configuration: immutable, durations in seconds, names as indices."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import regex

MAX_LEVEL = 5
MAX_PRIORITY = 10


@dataclass(frozen=True, slots=True)
class Channel:
    """A kind of work: what one interaction costs an agent and how it mixes with other work."""

    name: str
    index: int
    cost: int
    max_per_agent: int
    wrap_up: float
    blocks: frozenset[str] = frozenset()
    interruptible_by: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Skill:
    """A skill agents hold at a level 1..5 and queues require."""

    name: str
    index: int
    description: str = ""


@dataclass(frozen=True, slots=True)
class ServiceLevel:
    """A service-level target: `fraction` of contacts answered `within` seconds."""

    fraction: float
    within: float


@dataclass(frozen=True, slots=True)
class EscalationStep:
    """What changes for a task once it has waited `after` seconds."""

    after: float
    relax_skills: Mapping[str, int] = field(default_factory=dict)  # new min level; 0 drops it
    add_groups: tuple[str, ...] = ()
    raise_priority: int = 0


@dataclass(frozen=True, slots=True)
class Queue:
    """Where classified work waits, with its requirements and service target."""

    name: str
    index: int
    channels: tuple[str, ...]
    skills: Mapping[str, int]
    preferred: Mapping[str, int]
    groups: tuple[str, ...]  # empty: any agent group
    priority: int
    service_level: ServiceLevel
    max_wait: float | None
    escalation: tuple[EscalationStep, ...] = ()


@dataclass(frozen=True, slots=True)
class Rule:
    """A classification rule; every given condition must hold for it to match."""

    name: str
    queue: str
    channels: frozenset[str] = frozenset()  # empty: any channel
    attributes: Mapping[str, frozenset[str]] = field(default_factory=dict)
    keywords: tuple[str, ...] = ()  # lower-cased; any one present in the text matches
    pattern: regex.Pattern[str] | None = None
    priority: int | None = None
    skills: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Classification:
    """Rules tried in order; the first that matches names the queue, else the defaults do."""

    rules: tuple[Rule, ...]
    default_queue: str
    channel_defaults: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Weights:
    """Scoring weights and the idle-time half-saturation constant (seconds)."""

    skill_fit: float = 0.4
    load: float = 0.2
    idle: float = 0.4
    sla_urgency: float = 1.0
    priority: float = 0.5
    idle_half_life: float = 60.0


@dataclass(frozen=True, slots=True)
class OfferPolicy:
    """How long an offer waits for the agent and how many misses make an agent not_responding."""

    timeout: float = 20.0
    max_missed: int = 3


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """Daemon settings; the environment (ROUTERD_*) overrides each of them."""

    listen: str = "127.0.0.1:8080"
    redis_url: str | None = None
    data_dir: str = ".routerd"
    appendfsync: str = "everysec"


@dataclass(frozen=True, slots=True)
class RoutingConfig:
    """A whole routing file, validated."""

    source: str
    tenant: str
    channels: Mapping[str, Channel]
    skills: Mapping[str, Skill]
    groups: tuple[str, ...]
    queues: Mapping[str, Queue]
    classification: Classification
    scoring: Weights = Weights()
    offers: OfferPolicy = OfferPolicy()
    agent_capacity: int = 100
    presence_lease: float = 30.0
    sticky_ttl: float = 600.0
    server: ServerSettings = ServerSettings()

    def group_mask(self, groups: tuple[str, ...] | list[str] | frozenset[str]) -> int:
        """Bit mask of the named groups (bit i is `self.groups[i]`); unknown names are ignored."""
        mask = 0
        for name in groups:
            if name in self.groups:
                mask |= 1 << self.groups.index(name)
        return mask

"""The routing file's shape as frozen msgspec Structs; its JSON Schema is derived from them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from router.config.durations import DURATION_PATTERN, SERVICE_LEVEL_PATTERN

NAME_PATTERN = "^[a-z][a-z0-9_-]*$"
LISTEN_PATTERN = "^[^\\s]*:[0-9]{1,5}$"
REDIS_URL_PATTERN = "^(?:redis|rediss|unix)://"
MAX_GROUPS = 64  # agent groups are a 64-bit mask in the kernel
MAX_CHANNELS = 64  # the kernel's per-channel load arrays stop there
MAX_TERMS = 64  # skill terms of one requirement the kernel accepts

Name = Annotated[
    str,
    Meta(
        pattern=NAME_PATTERN,
        max_length=64,
        title="Name",
        description="A name: lower-case letters, digits, '_' and '-', starting with a letter.",
        examples=["chat", "tech_support", "tier1"],
    ),
]
Duration = Annotated[
    str,
    Meta(
        pattern=DURATION_PATTERN,
        title="Duration",
        description="Digits with a unit, largest unit first: 500ms, 20s, 5m, 2h, 1h30m.",
        examples=["20s", "5m", "1h30m", "500ms"],
    ),
]
Level = Annotated[int, Meta(ge=1, le=5, title="Level", description="Skill level, 1..5.")]
Priority = Annotated[int, Meta(ge=1, le=10, title="Priority", description="1 (low) .. 10.")]
AttributeValue = str | int | bool


class Section(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Base of every section: immutable, and an unknown key is an error, never ignored."""


# Each subclass repeats frozen=True: msgspec inherits it, but mypy's dataclass_transform does not.


class ServerSection(Section, frozen=True):
    """Daemon settings; each may be overridden by the environment (ROUTERD_*)."""

    listen: Annotated[
        str,
        Meta(
            pattern=LISTEN_PATTERN,
            description="host:port the HTTP/WebSocket API listens on.",
            examples=["127.0.0.1:8080", "0.0.0.0:8080"],
        ),
    ] = "127.0.0.1:8080"
    redis_url: Annotated[
        Annotated[str, Meta(pattern=REDIS_URL_PATTERN)] | None,
        Meta(
            description="Redis to use; null starts a private redis-server in data_dir.",
            examples=[None, "redis://localhost:6379/0", "rediss://redis.internal:6380/0"],
        ),
    ] = None
    data_dir: Annotated[
        str,
        Meta(
            min_length=1,
            description="Folder for the private Redis (AOF files) and local state.",
            examples=[".routerd", "/var/lib/routerd"],
        ),
    ] = ".routerd"
    appendfsync: Annotated[
        Literal["always", "everysec", "no"],
        Meta(
            description="Redis AOF fsync policy: 'always' loses nothing on power cut, slower.",
            examples=["everysec", "always"],
        ),
    ] = "everysec"


class ChannelSpec(Section, frozen=True):
    """A kind of work: its cost in agent capacity units and how it mixes with other work."""

    cost: Annotated[
        int,
        Meta(ge=1, description="Capacity units one interaction uses.", examples=[100, 25, 20]),
    ] = 100
    max_per_agent: Annotated[
        int,
        Meta(ge=1, description="At most this many at once per agent.", examples=[1, 4, 5]),
    ] = 1
    wrap_up: Annotated[
        Duration, Meta(description="After-work time once an interaction ends.", examples=["30s"])
    ] = "0s"
    blocks: Annotated[
        tuple[Name, ...],
        Meta(
            description="While an agent holds one of these, they get no new work of the listed "
            "channels.",
            examples=[["chat", "messenger", "email"]],
        ),
    ] = ()
    interruptible_by: Annotated[
        tuple[Name, ...],
        Meta(
            description="Channels that may still be offered to an agent busy with this one.",
            examples=[["voice"]],
        ),
    ] = ()


class AgentsSection(Section, frozen=True):
    """Defaults for agents."""

    capacity: Annotated[
        int,
        Meta(ge=1, description="Capacity units of an agent (a call costs 100).", examples=[100]),
    ] = 100


class SkillSpec(Section, frozen=True):
    """A skill agents hold at a level 1..5."""

    description: Annotated[
        str, Meta(description="What the skill means, for people.", examples=["Spanish"])
    ] = ""


class EscalationStepSpec(Section, frozen=True):
    """What changes for a waiting task once it has waited `after`."""

    after: Annotated[
        Duration, Meta(description="Time waited before this step applies.", examples=["60s"])
    ]
    relax_skills: Annotated[
        dict[Name, Annotated[int, Meta(ge=0, le=5)]],
        Meta(
            description="New minimum level per required skill; 0 drops the requirement.",
            examples=[{"billing": 2, "en": 0}],
        ),
    ] = {}
    add_groups: Annotated[
        tuple[Name, ...],
        Meta(description="Agent groups that may now take the task.", examples=[["tier2"]]),
    ] = ()
    raise_priority: Annotated[
        int, Meta(ge=0, le=9, description="Add this to the task's priority.", examples=[2])
    ] = 0


class QueueSpec(Section, frozen=True):
    """Where classified work waits: channels, requirements and the service target."""

    channels: Annotated[
        tuple[Name, ...],
        Meta(min_length=1, description="Channels this queue serves.", examples=[["chat"]]),
    ]
    skills: Annotated[
        dict[Name, Level],
        Meta(
            max_length=MAX_TERMS,
            description="Required skills and minimum levels.",
            examples=[{"billing": 2}],
        ),
    ] = {}
    preferred: Annotated[
        dict[Name, Level],
        Meta(description="Skills that raise an agent's score.", examples=[{"en": 4}]),
    ] = {}
    groups: Annotated[
        tuple[Name, ...],
        Meta(description="Agent groups allowed; empty: any group.", examples=[["tier1"]]),
    ] = ()
    priority: Annotated[Priority, Meta(description="Queue priority.", examples=[5])] = 5
    service_level: Annotated[
        str,
        Meta(
            pattern=SERVICE_LEVEL_PATTERN,
            title="ServiceLevel",
            description="Target: this share of contacts answered within this time.",
            examples=["80% within 20s", "90% within 4h"],
        ),
    ] = "80% within 20s"
    max_wait: Annotated[
        Duration | None,
        Meta(description="Longest wait before the task expires; null: no limit.", examples=["10m"]),
    ] = None
    escalation: Annotated[
        tuple[EscalationStepSpec, ...],
        Meta(
            description="Steps in increasing `after` order.",
            examples=[[{"after": "60s", "add_groups": ["tier2"]}]],
        ),
    ] = ()


class ConditionSpec(Section, frozen=True):
    """Conditions of a rule; every condition given must hold."""

    channel: Annotated[
        tuple[Name, ...],
        Meta(description="The contact came on one of these channels.", examples=[["voice"]]),
    ] = ()
    attributes: Annotated[
        dict[
            Annotated[str, Meta(min_length=1)],
            AttributeValue | tuple[AttributeValue, ...],
        ],
        Meta(
            description="Customer attributes: the value, or one of the listed values.",
            examples=[{"tier": ["gold", "platinum"], "language": "es"}],
        ),
    ] = {}
    keywords: Annotated[
        tuple[Annotated[str, Meta(min_length=1)], ...],
        Meta(
            description="Any one of these words in the text (case-insensitive).",
            examples=[["invoice", "refund"]],
        ),
    ] = ()
    regex: Annotated[
        Annotated[str, Meta(min_length=1)] | None,
        Meta(
            description="A Python regular expression searched in the text (case-insensitive).",
            examples=["order\\s*#?\\d{6,}"],
        ),
    ] = None


class RuleSpec(Section, frozen=True):
    """A classification rule: when its conditions hold, the contact goes to `queue`."""

    name: Annotated[
        str, Meta(min_length=1, description="Unique rule name.", examples=["vip-voice"])
    ]
    queue: Annotated[Name, Meta(description="Target queue.", examples=["billing"])]
    when: Annotated[
        ConditionSpec,
        Meta(
            description="Conditions; none given: always matches.", examples=[{"channel": ["chat"]}]
        ),
    ] = msgspec.field(default_factory=ConditionSpec)
    priority: Annotated[
        Priority | None, Meta(description="Overrides the queue priority.", examples=[8])
    ] = None
    skills: Annotated[
        dict[Name, Level],
        Meta(description="Extra required skills for this contact.", examples=[{"es": 3}]),
    ] = {}


class ClassificationSection(Section, frozen=True):
    """How contacts are sorted into queues: rules in order, then the defaults."""

    rules: Annotated[
        tuple[RuleSpec, ...],
        Meta(
            description="Tried in order; the first that matches wins.",
            examples=[[{"name": "billing", "when": {"keywords": ["invoice"]}, "queue": "billing"}]],
        ),
    ] = ()
    default: Annotated[
        Name | None,
        Meta(
            description="Queue when no rule matches; null: the first queue.", examples=["general"]
        ),
    ] = None
    channel_defaults: Annotated[
        dict[Name, Name],
        Meta(
            description="Queue per channel when no rule matches; before `default`.",
            examples=[{"email": "email_general"}],
        ),
    ] = {}


Weight = Annotated[float, Meta(ge=0, title="Weight")]


class ScoringSection(Section, frozen=True):
    """Weights of the agent and task scores (any non-negative numbers)."""

    skill_fit: Annotated[
        Weight, Meta(description="Prefer the agent whose skills fit best.", examples=[0.4])
    ] = 0.4
    load: Annotated[Weight, Meta(description="Prefer the least loaded agent.", examples=[0.2])] = (
        0.2
    )
    idle: Annotated[Weight, Meta(description="Prefer the agent idle longest.", examples=[0.4])] = (
        0.4
    )
    sla_urgency: Annotated[
        Weight, Meta(description="Prefer tasks nearest their SL target.", examples=[1.0])
    ] = 1.0
    priority: Annotated[
        Weight, Meta(description="Prefer tasks of higher priority.", examples=[0.5])
    ] = 0.5
    idle_half_life: Annotated[
        Duration, Meta(description="Idle time that earns half the idle score.", examples=["60s"])
    ] = "60s"


class OffersSection(Section, frozen=True):
    """Offers (reservations) to agents."""

    timeout: Annotated[
        Duration, Meta(description="How long an offer waits for the agent.", examples=["20s"])
    ] = "20s"
    max_missed: Annotated[
        int,
        Meta(
            ge=1,
            description="Missed offers in a row that make an agent not_responding.",
            examples=[3],
        ),
    ] = 3


class PresenceSection(Section, frozen=True):
    """Agent presence."""

    lease: Annotated[
        Duration,
        Meta(
            description="An agent without a heartbeat for this long is unavailable.",
            examples=["30s"],
        ),
    ] = "30s"


class SessionsSection(Section, frozen=True):
    """Customer sessions."""

    sticky_ttl: Annotated[
        Duration,
        Meta(
            description="A session's later messages go to its agent for this long.",
            examples=["10m"],
        ),
    ] = "10m"


class RoutingFile(Section, frozen=True, kw_only=True):
    """A routerd routing file."""

    # kw_only (not inherited) lets the required sections keep their place in the file's order.

    version: Annotated[Literal[1], Meta(description="Format version.", examples=[1])]
    tenant: Annotated[
        Name, Meta(description="Routing domain; Redis keys are prefixed by it.", examples=["acme"])
    ] = "default"
    server: Annotated[ServerSection, Meta(description="Daemon settings.")] = msgspec.field(
        default_factory=ServerSection
    )
    channels: Annotated[
        dict[Name, ChannelSpec],
        Meta(
            min_length=1,
            max_length=MAX_CHANNELS,
            description="Channels by name, at least one.",
            examples=[{"chat": {"cost": 25, "max_per_agent": 4}}],
        ),
    ]
    agents: Annotated[AgentsSection, Meta(description="Agent defaults.")] = msgspec.field(
        default_factory=AgentsSection
    )
    skills: Annotated[
        dict[Name, SkillSpec | None],
        Meta(
            description="Skills by name; the value may be empty.",
            examples=[{"billing": {"description": "Invoices and refunds"}, "en": None}],
        ),
    ] = {}
    groups: Annotated[
        tuple[Name, ...],
        Meta(max_length=MAX_GROUPS, description="Agent groups.", examples=[["tier1", "tier2"]]),
    ] = ()
    queues: Annotated[
        dict[Name, QueueSpec],
        Meta(
            min_length=1,
            description="Queues by name, at least one.",
            examples=[{"general": {"channels": ["chat"]}}],
        ),
    ]
    classification: Annotated[
        ClassificationSection, Meta(description="Rules that pick a contact's queue.")
    ] = msgspec.field(default_factory=ClassificationSection)
    scoring: Annotated[ScoringSection, Meta(description="Scoring weights.")] = msgspec.field(
        default_factory=ScoringSection
    )
    offers: Annotated[OffersSection, Meta(description="Offer policy.")] = msgspec.field(
        default_factory=OffersSection
    )
    presence: Annotated[PresenceSection, Meta(description="Presence lease.")] = msgspec.field(
        default_factory=PresenceSection
    )
    sessions: Annotated[SessionsSection, Meta(description="Sticky sessions.")] = msgspec.field(
        default_factory=SessionsSection
    )


def routing_file_schema() -> dict[str, Any]:
    """The JSON Schema (Draft 2020-12) of a routing file, derived from `RoutingFile`."""
    # The round trip turns tuple defaults into lists: plain JSON data, a fresh copy each call.
    schema: dict[str, Any] = msgspec.json.decode(
        msgspec.json.encode(msgspec.json.schema(RoutingFile))
    )
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "routerd routing file"
    return schema

"""Turns a checked routing file into the immutable RoutingConfig the engine runs on."""

from __future__ import annotations

import regex

from router.config.durations import parse_duration, parse_service_level
from router.config.model import (
    Channel,
    Classification,
    EscalationStep,
    OfferPolicy,
    Queue,
    RoutingConfig,
    Rule,
    ServerSettings,
    Skill,
    Weights,
)
from router.config.schema import (
    ConditionSpec,
    QueueSpec,
    RoutingFile,
    RuleSpec,
    ScoringSection,
)


def rule_pattern(text: str) -> regex.Pattern[str]:
    """A rule's regex (Python `re` syntax), compiled case-insensitive like its keywords;
    regex.error if invalid."""
    return regex.compile(text, regex.IGNORECASE | regex.VERSION0)


def compile_config(spec: RoutingFile, source: str) -> RoutingConfig:
    """The RoutingConfig of `spec`, which has passed the schema and the checks."""
    server = spec.server
    return RoutingConfig(
        source=source,
        tenant=spec.tenant,
        channels={
            name: Channel(
                name=name,
                index=index,
                cost=channel.cost,
                max_per_agent=channel.max_per_agent,
                wrap_up=parse_duration(channel.wrap_up),
                blocks=frozenset(channel.blocks),
                interruptible_by=frozenset(channel.interruptible_by),
            )
            for index, (name, channel) in enumerate(spec.channels.items())
        },
        skills={
            name: Skill(name=name, index=index, description=skill.description if skill else "")
            for index, (name, skill) in enumerate(spec.skills.items())
        },
        groups=spec.groups,
        queues={
            name: _queue(name, index, queue)
            for index, (name, queue) in enumerate(spec.queues.items())
        },
        classification=Classification(
            rules=tuple(_rule(rule) for rule in spec.classification.rules),
            default_queue=spec.classification.default or next(iter(spec.queues)),
            channel_defaults=dict(spec.classification.channel_defaults),
        ),
        scoring=_weights(spec.scoring),
        offers=OfferPolicy(
            timeout=parse_duration(spec.offers.timeout), max_missed=spec.offers.max_missed
        ),
        agent_capacity=spec.agents.capacity,
        presence_lease=parse_duration(spec.presence.lease),
        sticky_ttl=parse_duration(spec.sessions.sticky_ttl),
        server=ServerSettings(
            listen=server.listen,
            redis_url=server.redis_url,
            data_dir=server.data_dir,
            appendfsync=server.appendfsync,
        ),
    )


def _queue(name: str, index: int, queue: QueueSpec) -> Queue:
    return Queue(
        name=name,
        index=index,
        channels=queue.channels,
        skills=dict(queue.skills),
        preferred=dict(queue.preferred),
        groups=queue.groups,
        priority=queue.priority,
        service_level=parse_service_level(queue.service_level),
        max_wait=None if queue.max_wait is None else parse_duration(queue.max_wait),
        escalation=tuple(
            EscalationStep(
                after=parse_duration(step.after),
                relax_skills=dict(step.relax_skills),
                add_groups=step.add_groups,
                raise_priority=step.raise_priority,
            )
            for step in queue.escalation
        ),
    )


def _rule(rule: RuleSpec) -> Rule:
    when = rule.when
    return Rule(
        name=rule.name,
        queue=rule.queue,
        channels=frozenset(when.channel),
        attributes=_attributes(when),
        keywords=tuple(word.lower() for word in when.keywords),
        pattern=None if when.regex is None else rule_pattern(when.regex),
        priority=rule.priority,
        skills=dict(rule.skills),
    )


def _attributes(when: ConditionSpec) -> dict[str, frozenset[str]]:
    """Each attribute's accepted values as text, the way contacts carry them."""
    accepted: dict[str, frozenset[str]] = {}
    for name, value in when.attributes.items():
        values = value if isinstance(value, tuple) else (value,)
        accepted[name] = frozenset(attribute_text(v) for v in values)
    return accepted


def attribute_text(value: object) -> str:
    """An attribute value as text: `true`/`false` for booleans (as YAML and JSON spell them).

    YAML reads `vip: true` and `tier: 2` as bool and int; the classifier should turn a contact's
    attribute values into text with this same function before comparing.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _weights(scoring: ScoringSection) -> Weights:
    return Weights(
        skill_fit=scoring.skill_fit,
        load=scoring.load,
        idle=scoring.idle,
        sla_urgency=scoring.sla_urgency,
        priority=scoring.priority,
        idle_half_life=parse_duration(scoring.idle_half_life),
    )

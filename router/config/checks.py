"""Cross-reference checks of a structurally valid routing file: names, order, reachability."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import regex

from router.config.compile import rule_pattern
from router.config.durations import parse_duration, parse_service_level
from router.config.messages import did_you_mean
from router.config.schema import EscalationStepSpec, QueueSpec, RoutingFile, RuleSpec
from router.config.source import Finding, Path


@dataclass(frozen=True, slots=True)
class _Names:
    """The declared names a reference may use."""

    channels: tuple[str, ...]
    skills: tuple[str, ...]
    groups: tuple[str, ...]
    queues: tuple[str, ...]

    def unknown(self, kind: str, name: str) -> str | None:
        """The message for a reference to an undeclared `kind` ('channel', ...), else None."""
        declared: tuple[str, ...] = getattr(self, kind + "s")
        if name in declared:
            return None
        return f"unknown {kind} {name!r}{did_you_mean(name, declared)}"


def check_routing_file(spec: RoutingFile) -> list[Finding]:
    """Every cross-reference problem of `spec`, in file order of sections."""
    names = _Names(
        channels=tuple(spec.channels),
        skills=tuple(spec.skills),
        groups=spec.groups,
        queues=tuple(spec.queues),
    )
    findings = [
        *_check_channels(spec, names),
        *_duplicates(("groups",), spec.groups, "group"),
    ]
    for name, queue in spec.queues.items():
        findings += _check_queue(("queues", name), queue, names)
    for index, rule in enumerate(spec.classification.rules):
        findings += _check_rule(("classification", "rules", index), rule, spec, names)
    findings += _check_rule_order(spec.classification.rules)
    findings += _check_defaults(spec, names)
    findings += _check_timings(spec)
    return findings


def _references(path: Path, kind: str, refs: Iterable[str], names: _Names) -> list[Finding]:
    """Unknown names among `refs` (a list or a mapping's keys), each pointing at its entry."""
    findings = []
    keyed = isinstance(refs, Mapping)
    for index, ref in enumerate(refs):
        message = names.unknown(kind, ref)
        if message is not None:
            findings.append(Finding(path, message, at=(*path, ref if keyed else index)))
    return findings


def _duplicates(path: Path, items: tuple[str, ...], kind: str) -> list[Finding]:
    return [
        Finding(path, f"{kind} {item!r} is listed twice", at=(*path, index))
        for index, item in enumerate(items)
        if item in items[:index]
    ]


def _check_channels(spec: RoutingFile, names: _Names) -> list[Finding]:
    findings = []
    capacity = spec.agents.capacity
    for name, channel in spec.channels.items():
        path: Path = ("channels", name)
        for key in ("blocks", "interruptible_by"):
            refs: tuple[str, ...] = getattr(channel, key)
            findings += _references((*path, key), "channel", refs, names)
            findings += _duplicates((*path, key), refs, "channel")
        if channel.cost > capacity:
            message = (
                f"cost {channel.cost} exceeds agents.capacity {capacity}: "
                f"no agent could take a {name} contact"
            )
            findings.append(Finding((*path, "cost"), message))
    return findings


def _check_queue(path: Path, queue: QueueSpec, names: _Names) -> list[Finding]:
    findings = [
        *_references((*path, "channels"), "channel", queue.channels, names),
        *_duplicates((*path, "channels"), queue.channels, "channel"),
        *_references((*path, "skills"), "skill", queue.skills, names),
        *_references((*path, "preferred"), "skill", queue.preferred, names),
        *_references((*path, "groups"), "group", queue.groups, names),
        *_duplicates((*path, "groups"), queue.groups, "group"),
    ]
    target = parse_service_level(queue.service_level)
    if not 0 < target.fraction <= 1:
        message = (
            f"service level {queue.service_level!r}: the share must be above 0% and at most 100%"
        )
        findings.append(Finding((*path, "service_level"), message))
    if target.within == 0:
        message = f"service level {queue.service_level!r}: 'within' must be more than 0s"
        findings.append(Finding((*path, "service_level"), message))
    max_wait = None if queue.max_wait is None else parse_duration(queue.max_wait)
    if max_wait == 0:
        findings.append(Finding((*path, "max_wait"), "must be more than 0s (or null: no limit)"))
    return findings + _check_escalation((*path, "escalation"), queue, max_wait, names)


def _check_escalation(
    path: Path, queue: QueueSpec, max_wait: float | None, names: _Names
) -> list[Finding]:
    findings = []
    levels = dict(queue.skills)  # the requirement as the steps so far have relaxed it
    previous: EscalationStepSpec | None = None
    for index, step in enumerate(queue.escalation):
        step_path: Path = (*path, index)
        after = parse_duration(step.after)
        if previous is not None and after <= parse_duration(previous.after):
            message = (
                f"steps must be in increasing 'after' order: {step.after} follows {previous.after}"
            )
            findings.append(Finding((*step_path, "after"), message))
        if max_wait and after >= max_wait:  # max_wait 0 is reported on its own
            message = f"this step never applies: max_wait is {queue.max_wait}"
            findings.append(Finding((*step_path, "after"), message))
        if not (step.relax_skills or step.add_groups or step.raise_priority):
            message = "the step changes nothing: give relax_skills, add_groups or raise_priority"
            findings.append(Finding(step_path, message))
        findings += _check_relax((*step_path, "relax_skills"), step, levels, names)
        findings += _references((*step_path, "add_groups"), "group", step.add_groups, names)
        previous = step
    return findings


def _check_relax(
    path: Path, step: EscalationStepSpec, levels: dict[str, int], names: _Names
) -> list[Finding]:
    """Each relaxed skill must be known, still required, and end up lower (0 drops it)."""
    findings = []
    for skill, level in step.relax_skills.items():
        message = names.unknown("skill", skill)
        if message is None and skill not in levels:
            message = f"skill {skill!r} is not required by the queue at this step"
        elif message is None and level >= levels[skill]:
            message = f"relaxing {skill!r} to {level} does not lower it (required: {levels[skill]})"
        if message is not None:
            findings.append(Finding(path, message, at=(*path, skill)))
        elif level == 0:
            del levels[skill]
        else:
            levels[skill] = level
    return findings


def _check_rule(path: Path, rule: RuleSpec, spec: RoutingFile, names: _Names) -> list[Finding]:
    channels_path: Path = (*path, "when", "channel")
    findings = [
        *_references(channels_path, "channel", rule.when.channel, names),
        *_references((*path, "skills"), "skill", rule.skills, names),
    ]
    queue = spec.queues.get(rule.queue)
    if queue is None:
        findings.append(Finding((*path, "queue"), str(names.unknown("queue", rule.queue))))
    else:
        findings += _unserved_channels(path, rule, spec.channels, queue)
    if rule.when.regex is not None:
        try:
            rule_pattern(rule.when.regex)
        except regex.error as exc:
            findings.append(Finding((*path, "when", "regex"), f"invalid regex: {exc}"))
    # Rules are known by name to their authors; an index alone is hard to find.
    return [Finding(f.path, f"rule {rule.name!r}: {f.message}", f.at) for f in findings]


def _unserved_channels(
    path: Path, rule: RuleSpec, channels: Iterable[str], queue: QueueSpec
) -> list[Finding]:
    """Channels the rule may match that its queue does not serve (the classifier refuses them)."""
    channels_path: Path = (*path, "when", "channel")
    if rule.when.channel:
        return [
            Finding(
                channels_path,
                f"queue {rule.queue!r} does not serve channel {channel!r}",
                at=(*channels_path, index),
            )
            for index, channel in enumerate(rule.when.channel)
            if channel in channels and channel not in queue.channels
        ]
    unserved = [channel for channel in channels if channel not in queue.channels]
    if not unserved:
        return []
    message = (
        f"queue {rule.queue!r} does not serve {', '.join(unserved)}, and the rule matches "
        "every channel: list the channels it is for in when.channel"
    )
    return [Finding((*path, "queue"), message)]


def _has_conditions(rule: RuleSpec) -> bool:
    when = rule.when
    return bool(when.channel or when.attributes or when.keywords or when.regex is not None)


def _check_rule_order(rules: tuple[RuleSpec, ...]) -> list[Finding]:
    """Duplicate rule names, and a rule without conditions that hides the rules after it."""
    findings = []
    seen: set[str] = set()
    for index, rule in enumerate(rules):
        path: Path = ("classification", "rules", index)
        if rule.name in seen:
            findings.append(Finding((*path, "name"), f"rule name {rule.name!r} is used twice"))
        seen.add(rule.name)
        if not _has_conditions(rule) and index + 1 < len(rules):
            message = f"rule {rule.name!r} has no conditions, so the rules after it never apply"
            findings.append(Finding(path, message))
    return findings


def _check_defaults(spec: RoutingFile, names: _Names) -> list[Finding]:
    classification = spec.classification
    path: Path = ("classification", "channel_defaults")
    findings = _references(path, "channel", classification.channel_defaults, names)
    for channel, queue_name in classification.channel_defaults.items():
        queue = spec.queues.get(queue_name)
        message = names.unknown("queue", queue_name)
        serves = queue is None or channel not in spec.channels or channel in queue.channels
        if message is None and not serves:
            message = f"queue {queue_name!r} does not serve channel {channel!r}"
        if message is not None:
            findings.append(Finding(path, message, at=(*path, channel)))
    default = classification.default
    if default is not None and default not in spec.queues:
        findings.append(
            Finding(("classification", "default"), str(names.unknown("queue", default)))
        )
        return findings
    return findings + _check_fallbacks(spec)


def _check_fallbacks(spec: RoutingFile) -> list[Finding]:
    """A contact that matches no rule must still find a queue that serves its channel."""
    classification = spec.classification
    default = classification.default or next(iter(spec.queues))
    served = spec.queues[default].channels
    findings = []
    for channel in spec.channels:
        if channel not in served and channel not in classification.channel_defaults:
            message = (
                f"no queue for {channel} contacts that match no rule: the default queue "
                f"{default!r} does not serve {channel!r}; name one in channel_defaults"
            )
            at: Path = (
                ("classification", "default") if classification.default else ("channels", channel)
            )
            findings.append(Finding(("classification",), message, at=at))
    return findings


def _check_timings(spec: RoutingFile) -> list[Finding]:
    """Durations that must be more than zero."""
    timings = {
        ("offers", "timeout"): spec.offers.timeout,
        ("presence", "lease"): spec.presence.lease,
        ("scoring", "idle_half_life"): spec.scoring.idle_half_life,
    }
    return [
        Finding(path, "must be more than 0s")
        for path, text in timings.items()
        if parse_duration(text) == 0
    ]

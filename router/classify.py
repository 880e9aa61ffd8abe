"""Classification: the queue, priority and extra skills of a new contact, by the file's rules."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import structlog

from router.config.compile import attribute_text
from router.config.model import RoutingConfig, Rule
from router.errors import ClassificationError

log = structlog.get_logger("routerd.classify")

# A rule's pattern gets this long on a contact's text, then counts as not matching: a pattern
# that backtracks on some text (runs of spaces, say) would otherwise hold the whole daemon for
# seconds. A search that does not backtrack so takes microseconds on a message's text.
PATTERN_TIMEOUT = 0.02


@dataclass(slots=True)
class Classified:
    """Where a contact goes: queue, priority, the skills it adds, and the rule that decided."""

    queue: str
    priority: int
    skills: Mapping[str, int]
    rule: str


class Classifier:
    """Tries the rules in file order; the first whose every condition holds wins."""

    def __init__(self, config: RoutingConfig) -> None:
        self.config = config

    def classify(
        self, channel: str, attributes: Mapping[str, object], text: str = ""
    ) -> Classified:
        """Classify one contact; ClassificationError if its queue cannot serve the channel."""
        if channel not in self.config.channels:
            raise ClassificationError(f"unknown channel {channel!r}")
        lowered = text.lower()
        for rule in self.config.classification.rules:
            if _matches(rule, channel, attributes, text, lowered):
                return self._result(rule.queue, channel, rule.priority, rule.skills, rule.name)
        cls = self.config.classification
        queue = cls.channel_defaults.get(channel, cls.default_queue)
        return self._result(queue, channel, None, {}, "default")

    def _result(
        self, queue: str, channel: str, priority: int | None, skills: Mapping[str, int], rule: str
    ) -> Classified:
        q = self.config.queues[queue]
        if channel not in q.channels:
            raise ClassificationError(f"rule {rule!r}: queue {queue!r} does not serve {channel!r}")
        return Classified(queue, q.priority if priority is None else priority, skills, rule)


def _matches(
    rule: Rule, channel: str, attributes: Mapping[str, object], text: str, lowered: str
) -> bool:
    if rule.channels and channel not in rule.channels:
        return False
    for name, allowed in rule.attributes.items():
        if name not in attributes or attribute_text(attributes[name]) not in allowed:
            return False
    if rule.keywords:
        for k in rule.keywords:  # a loop, not any() over a generator expression
            if k in lowered:
                break
        else:
            return False
    if rule.pattern is None:
        return True
    try:
        return rule.pattern.search(text, timeout=PATTERN_TIMEOUT) is not None
    except TimeoutError:
        log.warning("classification_pattern_timed_out", rule=rule.name, text_chars=len(text),
                    timeout_s=PATTERN_TIMEOUT)  # fmt: skip
        return False

"""Classification by the example routing file's rules."""

from __future__ import annotations

from pathlib import Path

import pytest
import structlog

from router.classify import Classifier
from router.config import load_config, load_config_text
from router.errors import ClassificationError

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "routing.example.yaml"


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier(load_config(EXAMPLE))


def test_customer_attribute_picks_the_queue(classifier: Classifier) -> None:
    assert classifier.classify("chat", {"tier": "gold"}, "hello").queue == "vip"


def test_keyword_in_the_text_picks_the_queue(classifier: Classifier) -> None:
    assert classifier.classify("chat", {}, "I want a REFUND please").queue == "billing"


def test_regex_rule_sets_its_priority(classifier: Classifier) -> None:
    result = classifier.classify("email", {}, "About ticket #123456 again")
    assert (result.queue, result.priority) == ("tech_support", 6)


def test_first_matching_rule_wins(classifier: Classifier) -> None:
    assert classifier.classify("chat", {"tier": "gold"}, "cancel").rule == "vip-customers"


def test_rule_adds_its_skills(classifier: Classifier) -> None:
    assert classifier.classify("voice", {"language": "ru"}, "").skills == {"ru": 3}


def test_channel_condition_limits_a_rule(classifier: Classifier) -> None:
    assert classifier.classify("email", {"language": "ru"}, "").rule != "russian-speakers"


def test_channel_default_applies_when_no_rule_matches(classifier: Classifier) -> None:
    assert classifier.classify("email", {}, "hi").queue == "email"


def test_default_queue_applies_when_no_rule_matches(classifier: Classifier) -> None:
    assert classifier.classify("voice", {}, "hi").rule == "default"


def test_unknown_channel_is_refused(classifier: Classifier) -> None:
    with pytest.raises(ClassificationError):
        classifier.classify("fax", {}, "")


def _one_rule(when: str) -> Classifier:
    """A file with one rule, `ruled`, taking what matches `when` (YAML) to queue `ruled`; the
    rest goes to `plain`."""
    text = f"""
version: 1
channels: {{chat: {{cost: 25, max_per_agent: 2}}}}
skills: {{en: {{}}}}
queues:
  plain: {{channels: [chat]}}
  ruled: {{channels: [chat]}}
classification:
  rules:
    - {{name: ruled, when: {when}, queue: ruled}}
  default: plain
"""
    return Classifier(load_config_text(text, "one-rule.yaml"))


def test_boolean_attribute_matches_as_the_file_spells_it() -> None:
    classifier = _one_rule("{attributes: {vip: true}}")
    assert classifier.classify("chat", {"vip": True}).queue == "ruled"


def test_a_pattern_that_runs_out_of_time_counts_as_not_matching_and_is_logged() -> None:
    # Two runs of spaces with an optional character between them: each split is tried, some
    # 2*10^8 steps, seconds of routing held without a time limit.
    classifier = _one_rule(r"{regex: '\b(?:ticket|case)\s*#?\s*\d{5,}\b'}")
    with structlog.testing.capture_logs() as logs:
        queue = classifier.classify("chat", {}, "ticket" + " " * 20_000).queue
    timed_out = [x["rule"] for x in logs if x["event"] == "classification_pattern_timed_out"]
    assert (queue, timed_out) == ("plain", ["ruled"])

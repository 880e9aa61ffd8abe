"""Loading good routing files: the example, the minimal file, and what compilation produces."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from router.config import json_schema, load_config, load_config_text
from router.config.durations import parse_duration, parse_service_level
from router.config.model import RoutingConfig, ServiceLevel

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "config" / "routing.example.yaml"
MINIMAL = REPO / "config" / "routing.minimal.yaml"


@pytest.fixture(scope="module")
def example() -> RoutingConfig:
    return load_config(EXAMPLE)


def _load(tmp_path: Path, text: str) -> RoutingConfig:
    path = tmp_path / "routing.yaml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


CHAT_ONLY = """\
version: 1
channels:
  chat: {}
queues:
  support: {channels: [chat]}
"""


# --- the example file ---------------------------------------------------------------------


def test_example_tenant(example: RoutingConfig) -> None:
    assert example.tenant == "acme"


def test_example_channels_in_declaration_order(example: RoutingConfig) -> None:
    assert [(c.name, c.index) for c in example.channels.values()] == [
        ("voice", 0),
        ("chat", 1),
        ("messenger", 2),
        ("email", 3),
    ]


def test_example_channel_costs_and_caps(example: RoutingConfig) -> None:
    assert {n: (c.cost, c.max_per_agent) for n, c in example.channels.items()} == {
        "voice": (100, 1),
        "chat": (25, 4),
        "messenger": (25, 4),
        "email": (20, 5),
    }


def test_example_voice_blocks_every_other_channel(example: RoutingConfig) -> None:
    assert example.channels["voice"].blocks == {"chat", "messenger", "email"}


def test_example_email_is_interruptible_by_voice(example: RoutingConfig) -> None:
    assert example.channels["email"].interruptible_by == {"voice"}


def test_example_wrap_up_is_in_seconds(example: RoutingConfig) -> None:
    assert example.channels["email"].wrap_up == 60.0


def test_example_skills_include_languages_and_topics(example: RoutingConfig) -> None:
    assert {"en", "ru", "es", "billing", "tech_support", "sales", "retention", "vip"} <= set(
        example.skills
    )


def test_example_skill_descriptions(example: RoutingConfig) -> None:
    assert example.skills["billing"].description == "Invoices, payments and refunds"


def test_example_groups(example: RoutingConfig) -> None:
    assert example.groups == ("tier1", "tier2", "specialists")


def test_example_has_five_to_eight_queues(example: RoutingConfig) -> None:
    assert 5 <= len(example.queues) <= 8


def test_example_vip_service_level(example: RoutingConfig) -> None:
    assert example.queues["vip"].service_level == ServiceLevel(fraction=0.95, within=10.0)


def test_example_email_queue_has_no_max_wait(example: RoutingConfig) -> None:
    assert example.queues["email"].max_wait is None


def test_example_vip_escalation_steps(example: RoutingConfig) -> None:
    steps = example.queues["vip"].escalation
    assert [(s.after, dict(s.relax_skills), s.add_groups, s.raise_priority) for s in steps] == [
        (30.0, {"vip": 2}, (), 0),
        (60.0, {"vip": 0}, ("tier1",), 1),
    ]


def test_example_billing_requirements(example: RoutingConfig) -> None:
    billing = example.queues["billing"]
    assert (dict(billing.skills), dict(billing.preferred)) == ({"billing": 2}, {"billing": 4})


def test_example_rule_order(example: RoutingConfig) -> None:
    assert [rule.name for rule in example.classification.rules][:3] == [
        "vip-customers",
        "cancellations",
        "billing-questions",
    ]


def test_example_rule_attributes_are_sets_of_text(example: RoutingConfig) -> None:
    vip = example.classification.rules[0]
    assert vip.attributes == {"tier": frozenset({"gold", "platinum"})}


def test_example_regex_rule_is_compiled_case_insensitive(example: RoutingConfig) -> None:
    rule = next(r for r in example.classification.rules if r.pattern is not None)
    assert rule.pattern is not None and rule.pattern.search("Re: TICKET #123456")


def test_example_language_rule_adds_a_skill(example: RoutingConfig) -> None:
    rule = next(r for r in example.classification.rules if r.name == "spanish-speakers")
    assert dict(rule.skills) == {"es": 3}


def test_example_defaults(example: RoutingConfig) -> None:
    classification = example.classification
    assert (classification.default_queue, dict(classification.channel_defaults)) == (
        "general",
        {"email": "email"},
    )


def test_example_offers(example: RoutingConfig) -> None:
    assert (example.offers.timeout, example.offers.max_missed) == (20.0, 3)


def test_example_presence_and_sessions(example: RoutingConfig) -> None:
    assert (example.presence_lease, example.sticky_ttl) == (30.0, 1800.0)


def test_example_scoring(example: RoutingConfig) -> None:
    assert dataclasses.astuple(example.scoring) == (0.4, 0.2, 0.4, 1.0, 0.5, 60.0)


def test_example_server(example: RoutingConfig) -> None:
    server = example.server
    assert (server.listen, server.redis_url, server.appendfsync) == (
        "127.0.0.1:8080",
        None,
        "everysec",
    )


def test_example_source_is_the_path(example: RoutingConfig) -> None:
    assert example.source == str(EXAMPLE)


def test_example_validates_against_the_json_schema() -> None:
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(json_schema()).validate(data)


def test_json_schema_is_a_valid_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(json_schema())


def test_config_is_immutable(example: RoutingConfig) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        example.tenant = "other"  # type: ignore[misc]


# --- the minimal file and defaults ---------------------------------------------------------


def test_minimal_file_loads() -> None:
    assert list(load_config(MINIMAL).queues) == ["support"]


def test_minimal_file_gets_the_default_tenant() -> None:
    assert load_config(MINIMAL).tenant == "default"


def test_default_queue_is_the_first_queue_when_not_named() -> None:
    assert load_config(MINIMAL).classification.default_queue == "support"


def test_queue_defaults() -> None:
    queue = load_config(MINIMAL).queues["support"]
    assert (queue.priority, queue.service_level, queue.max_wait, queue.groups) == (
        5,
        ServiceLevel(fraction=0.8, within=20.0),
        None,
        (),
    )


def test_channel_defaults_to_one_call_sized_interaction(tmp_path: Path) -> None:
    chat = _load(tmp_path, CHAT_ONLY).channels["chat"]
    assert (chat.cost, chat.max_per_agent, chat.wrap_up) == (100, 1, 0.0)


def test_load_config_text_names_its_source() -> None:
    assert load_config_text(CHAT_ONLY, "inline.yaml").source == "inline.yaml"


def test_keywords_are_lower_cased(tmp_path: Path) -> None:
    text = CHAT_ONLY + (
        "classification:\n"
        "  rules:\n"
        "    - {name: refunds, when: {keywords: [Refund, INVOICE]}, queue: support}\n"
    )
    assert _load(tmp_path, text).classification.rules[0].keywords == ("refund", "invoice")


def test_attribute_numbers_and_booleans_become_text(tmp_path: Path) -> None:
    text = CHAT_ONLY + (
        "classification:\n"
        "  rules:\n"
        "    - {name: a, when: {attributes: {tier: 2, vip: [true, maybe]}}, queue: support}\n"
    )
    assert _load(tmp_path, text).classification.rules[0].attributes == {
        "tier": frozenset({"2"}),
        "vip": frozenset({"true", "maybe"}),
    }


def test_yaml_merge_keys_apply(tmp_path: Path) -> None:
    text = (
        "version: 1\n"
        "channels:\n"
        "  chat: &digital {cost: 25, max_per_agent: 4}\n"
        "  messenger:\n"
        "    <<: *digital\n"
        "    max_per_agent: 3\n"
        "queues:\n"
        "  support: {channels: [chat, messenger]}\n"
    )
    messenger = _load(tmp_path, text).channels["messenger"]
    assert (messenger.cost, messenger.max_per_agent) == (25, 3)


def test_a_key_like_on_is_a_name_not_a_boolean(tmp_path: Path) -> None:
    text = CHAT_ONLY.replace("chat: {}", "on: {}").replace("[chat]", "['on']")
    assert list(_load(tmp_path, text).channels) == ["on"]


def test_a_byte_order_mark_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "routing.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + CHAT_ONLY.encode())
    assert load_config(path).tenant == "default"


# --- durations -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("20s", 20.0),
        ("5m", 300.0),
        ("2h", 7200.0),
        ("1h30m", 5400.0),
        ("500ms", 0.5),
        ("1m30s250ms", 90.25),
        ("0s", 0.0),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["20", "", "1.5s", "5 m", "1s1h", "1m1m", "s", "20sec"])
def test_parse_duration_refuses_malformed(text: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f"malformed duration {text!r}")):
        parse_duration(text)


def test_parse_service_level() -> None:
    assert parse_service_level("99.5% within 1m") == ServiceLevel(fraction=0.995, within=60.0)


def test_parse_service_level_refuses_malformed() -> None:
    with pytest.raises(ValueError, match="malformed service level"):
        parse_service_level("80 within 20s")


def test_a_good_file_loads_without_importing_jsonschema() -> None:
    # jsonschema is a tenth of the daemon's start; only a file with problems needs it.
    code = (
        "import sys; from router.config import load_config; "
        f"load_config({str(EXAMPLE)!r}); print('jsonschema' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

"""Refusing bad routing files: every problem reported with its file, line and a clear message."""

from __future__ import annotations

from pathlib import Path

import pytest

from router.config import ConfigError, load_config

BASE = """\
version: 1
agents:
  capacity: 100
channels:
  voice: {cost: 100, blocks: [chat]}
  chat: {cost: 25, max_per_agent: 4}
skills:
  billing: {description: Invoices}
  en:
groups: [tier1, tier2]
queues:
  billing:
    channels: [voice, chat]
    skills: {billing: 2}
    groups: [tier1]
    service_level: 80% within 20s
    max_wait: 10m
    escalation:
      - after: 1m
        add_groups: [tier2]
classification:
  rules:
    - name: invoices
      when: {keywords: [invoice]}
      queue: billing
  default: billing
"""


def _with(*edits: tuple[str, str]) -> str:
    """BASE with each (old, new) replaced once; `old` must be there."""
    text = BASE
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


def _line(text: str, needle: str) -> int:
    """The 1-based line of the only occurrence of `needle` in `text`."""
    assert text.count(needle) == 1, needle
    return text[: text.index(needle)].count("\n") + 1


def _problems(tmp_path: Path, text: str) -> list[str]:
    """What loading `text` from a file reports, one `FILE:LINE: path: message` per problem."""
    path = tmp_path / "routing.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return [str(problem) for problem in caught.value.problems]


def test_the_base_file_is_good(tmp_path: Path) -> None:
    path = tmp_path / "routing.yaml"
    path.write_text(BASE, encoding="utf-8")
    assert list(load_config(path).queues) == ["billing"]


def test_unknown_skill_in_a_queue(tmp_path: Path) -> None:
    text = _with(("skills: {billing: 2}", "skills: {biling: 2}"))
    assert _problems(tmp_path, text) == [
        f"{tmp_path / 'routing.yaml'}:{_line(text, 'biling')}: queues.billing.skills: "
        "unknown skill 'biling'; did you mean 'billing'?"
    ]


def test_negative_capacity(tmp_path: Path) -> None:
    text = _with(("capacity: 100", "capacity: -5"))
    assert _problems(tmp_path, text) == [
        f"{tmp_path / 'routing.yaml'}:3: agents.capacity: must be at least 1, got -5"
    ]


def test_negative_channel_cost(tmp_path: Path) -> None:
    text = _with(("chat: {cost: 25,", "chat: {cost: -25,"))
    assert _problems(tmp_path, text) == [
        f"{tmp_path / 'routing.yaml'}:6: channels.chat.cost: must be at least 1, got -25"
    ]


def test_rule_naming_a_missing_queue(tmp_path: Path) -> None:
    text = _with(("      queue: billing", "      queue: bill"))
    assert _problems(tmp_path, text) == [
        f"{tmp_path / 'routing.yaml'}:{_line(text, 'queue: bill')}: "
        "classification.rules[0].queue: rule 'invoices': unknown queue 'bill'; "
        "did you mean 'billing'?"
    ]


def test_default_naming_a_missing_queue(tmp_path: Path) -> None:
    text = _with(("default: billing", "default: general"))
    assert _problems(tmp_path, text) == [
        f"{tmp_path / 'routing.yaml'}:{_line(text, 'default: general')}: "
        "classification.default: unknown queue 'general'"
    ]


def test_bare_number_is_a_malformed_duration(tmp_path: Path) -> None:
    text = _with(("max_wait: 10m", "max_wait: 600"))
    assert _problems(tmp_path, text) == [
        f"{tmp_path / 'routing.yaml'}:{_line(text, 'max_wait')}: queues.billing.max_wait: "
        "malformed duration 600: write digits with a unit, largest first: "
        "500ms, 20s, 5m, 2h, 1h30m"
    ]


def test_spelled_out_unit_is_a_malformed_duration(tmp_path: Path) -> None:
    text = _with(("after: 1m", "after: 1 minute"))
    assert _problems(tmp_path, text) == [
        f"{tmp_path / 'routing.yaml'}:{_line(text, 'after')}: "
        "queues.billing.escalation[0].after: malformed duration '1 minute': "
        "write digits with a unit, largest first: 500ms, 20s, 5m, 2h, 1h30m"
    ]


def test_malformed_service_level(tmp_path: Path) -> None:
    text = _with(("80% within 20s", "80 within 20s"))
    assert _problems(tmp_path, text) == [
        f"{tmp_path / 'routing.yaml'}:{_line(text, 'service_level')}: "
        "queues.billing.service_level: malformed service level '80 within 20s': "
        "write it as '80% within 20s'"
    ]


def test_unknown_key_points_at_the_key_and_names_it(tmp_path: Path) -> None:
    text = _with(("    groups: [tier1]\n", "    groups: [tier1]\n    skils: {en: 2}\n"))
    assert _problems(tmp_path, text) == [
        f"{tmp_path / 'routing.yaml'}:{_line(text, 'skils')}: queues.billing: "
        "unknown key 'skils'; did you mean 'skills'?"
    ]


def test_unknown_top_level_key(tmp_path: Path) -> None:
    text = BASE + "sesions: {sticky_ttl: 5m}\n"
    assert _problems(tmp_path, text) == [
        f"{tmp_path / 'routing.yaml'}:{_line(text, 'sesions')}: "
        "unknown key 'sesions'; did you mean 'sessions'?"
    ]


def test_duplicate_key(tmp_path: Path) -> None:
    text = _with(("  en:\n", "  en:\n  en: {description: English}\n"))
    assert _problems(tmp_path, text) == [
        f"{tmp_path / 'routing.yaml'}:{_line(text, 'English')}: skills: "
        "duplicate key 'en' (first on line 9)"
    ]


def test_yaml_syntax_error_gives_pyyaml_line(tmp_path: Path) -> None:
    text = _with(("chat: {cost: 25, max_per_agent: 4}", "chat: {cost: 25, max_per_agent: 4"))
    assert _problems(tmp_path, text) == [
        f"{tmp_path / 'routing.yaml'}:7: YAML syntax error: expected ',' or '}}', "
        "but got ':' (while parsing a flow mapping)"
    ]


def test_wrong_type(tmp_path: Path) -> None:
    text = _with(("channels: [voice, chat]", "channels: voice"))
    assert _problems(tmp_path, text) == [
        f"{tmp_path / 'routing.yaml'}:{_line(text, 'channels: voice')}: "
        "queues.billing.channels: expected a list, got 'voice'"
    ]


def test_float_where_an_integer_belongs(tmp_path: Path) -> None:
    text = _with(("chat: {cost: 25,", "chat: {cost: 25.5,"))
    assert _problems(tmp_path, text) == [
        f"{tmp_path / 'routing.yaml'}:6: channels.chat.cost: expected an integer, got 25.5"
    ]


def test_skill_level_above_five(tmp_path: Path) -> None:
    text = _with(("skills: {billing: 2}", "skills: {billing: 6}"))
    assert _problems(tmp_path, text) == [
        f"{tmp_path / 'routing.yaml'}:{_line(text, 'billing: 6')}: "
        "queues.billing.skills.billing: must be at most 5, got 6"
    ]


def test_unsupported_version(tmp_path: Path) -> None:
    text = _with(("version: 1", "version: 2"))
    assert _problems(tmp_path, text) == [
        f"{tmp_path / 'routing.yaml'}:1: version: must be 1, got 2"
    ]


def test_yaml_boolean_where_a_name_belongs(tmp_path: Path) -> None:
    text = _with(("blocks: [chat]", "blocks: [no]"))
    assert _problems(tmp_path, text) == [
        f"{tmp_path / 'routing.yaml'}:5: channels.voice.blocks[0]: expected a string, got false "
        "(YAML reads yes/no/on/off/true/false as booleans: put it in quotes)"
    ]


def test_invalid_name(tmp_path: Path) -> None:
    text = _with(("  en:\n", "  English:\n"))
    assert _problems(tmp_path, text) == [
        f"{tmp_path / 'routing.yaml'}:{_line(text, 'English')}: skills: invalid name "
        "'English': use lower-case letters, digits, '_' and '-', starting with a letter"
    ]


def test_at_least_one_channel(tmp_path: Path) -> None:
    text = "version: 1\nchannels: {}\nqueues:\n  q: {channels: [chat]}\n"
    assert _problems(tmp_path, text) == [
        f"{tmp_path / 'routing.yaml'}:2: channels: must not be empty"
    ]


def test_at_least_one_queue(tmp_path: Path) -> None:
    text = "version: 1\nchannels:\n  chat: {}\n"
    assert _problems(tmp_path, text) == [
        f"{tmp_path / 'routing.yaml'}:1: missing required key 'queues'"
    ]


def test_more_than_64_groups(tmp_path: Path) -> None:
    groups = ", ".join(f"g{i}" for i in range(65))
    text = _with(("groups: [tier1, tier2]", f"groups: [tier1, tier2, {groups}]"))
    assert _problems(tmp_path, text) == [
        f"{tmp_path / 'routing.yaml'}:10: groups: has 67 entries; at most 64 are allowed"
    ]


def test_group_listed_twice(tmp_path: Path) -> None:
    text = _with(("groups: [tier1, tier2]", "groups: [tier1, tier2, tier1]"))
    assert _problems(tmp_path, text) == [
        f"{tmp_path / 'routing.yaml'}:10: groups: group 'tier1' is listed twice"
    ]


def test_unknown_group_in_a_queue(tmp_path: Path) -> None:
    text = _with(("groups: [tier1]", "groups: [tier3]"))
    assert _problems(tmp_path, text) == [
        f"{tmp_path / 'routing.yaml'}:{_line(text, 'tier3')}: queues.billing.groups: "
        "unknown group 'tier3'; did you mean 'tier1'?"
    ]


def test_unknown_channel_in_blocks(tmp_path: Path) -> None:
    text = _with(("blocks: [chat]", "blocks: [email]"))
    assert _problems(tmp_path, text) == [
        f"{tmp_path / 'routing.yaml'}:5: channels.voice.blocks: unknown channel 'email'"
    ]


def test_rule_channel_its_queue_does_not_serve(tmp_path: Path) -> None:
    text = _with(
        ("channels: [voice, chat]", "channels: [chat]"),
        ("classification:\n", "  phone: {channels: [voice]}\nclassification:\n"),
        ("default: billing", "default: billing\n  channel_defaults: {voice: phone}"),
        ("when: {keywords: [invoice]}", "when: {channel: [voice], keywords: [invoice]}"),
    )
    assert _problems(tmp_path, text) == [
        f"{tmp_path / 'routing.yaml'}:{_line(text, 'channel: [voice]')}: "
        "classification.rules[0].when.channel: rule 'invoices': "
        "queue 'billing' does not serve channel 'voice'"
    ]


def test_rule_for_every_channel_whose_queue_serves_only_some(tmp_path: Path) -> None:
    text = _with(
        ("channels: [voice, chat]", "channels: [chat]"),
        ("classification:\n", "  phone: {channels: [voice]}\nclassification:\n"),
        ("default: billing", "default: billing\n  channel_defaults: {voice: phone}"),
    )
    assert _problems(tmp_path, text) == [
        f"{tmp_path / 'routing.yaml'}:{_line(text, 'queue: billing')}: "
        "classification.rules[0].queue: rule 'invoices': queue 'billing' does not serve "
        "voice, and the rule matches every channel: list the channels it is for in when.channel"
    ]


def test_rule_without_conditions_hides_the_rules_after_it(tmp_path: Path) -> None:
    text = _with(
        ("      when: {keywords: [invoice]}\n", ""),
        (
            "  default: billing",
            "    - {name: later, when: {keywords: [x]}, queue: billing}\n  default: billing",
        ),
    )
    assert _problems(tmp_path, text) == [
        f"{tmp_path / 'routing.yaml'}:{_line(text, 'name: invoices')}: classification.rules[0]: "
        "rule 'invoices' has no conditions, so the rules after it never apply"
    ]


def test_invalid_regex(tmp_path: Path) -> None:
    text = _with(("when: {keywords: [invoice]}", "when: {regex: 'invoice (#'}"))
    assert _problems(tmp_path, text) == [
        f"{tmp_path / 'routing.yaml'}:{_line(text, 'regex')}: "
        "classification.rules[0].when.regex: rule 'invoices': "
        "invalid regex: missing ) at position 10"
    ]


def test_escalation_steps_out_of_order(tmp_path: Path) -> None:
    text = _with(
        (
            "        add_groups: [tier2]\n",
            "        add_groups: [tier2]\n      - after: 30s\n        raise_priority: 1\n",
        )
    )
    assert _problems(tmp_path, text) == [
        f"{tmp_path / 'routing.yaml'}:{_line(text, 'after: 30s')}: "
        "queues.billing.escalation[1].after: "
        "steps must be in increasing 'after' order: 30s follows 1m"
    ]


def test_service_level_within_zero(tmp_path: Path) -> None:
    text = _with(("80% within 20s", "80% within 0s"))
    assert _problems(tmp_path, text) == [
        f"{tmp_path / 'routing.yaml'}:{_line(text, 'service_level')}: "
        "queues.billing.service_level: service level '80% within 0s': "
        "'within' must be more than 0s"
    ]


def test_channel_without_a_fallback_queue(tmp_path: Path) -> None:
    text = _with(
        (
            "  chat: {cost: 25, max_per_agent: 4}\n",
            "  chat: {cost: 25, max_per_agent: 4}\n  email: {}\n",
        ),
        ("when: {keywords: [invoice]}", "when: {channel: [voice, chat], keywords: [invoice]}"),
    )
    assert _problems(tmp_path, text) == [
        f"{tmp_path / 'routing.yaml'}:{_line(text, 'default: billing')}: classification: "
        "no queue for email contacts that match no rule: the default queue 'billing' "
        "does not serve 'email'; name one in channel_defaults"
    ]


def test_empty_file(tmp_path: Path) -> None:
    assert _problems(tmp_path, "# nothing yet\n") == [
        f"{tmp_path / 'routing.yaml'}:1: the file is empty"
    ]


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "routing.yaml"
    path.write_bytes(b"version: 1\ntenant: caf\xe9\n")
    with pytest.raises(ConfigError, match=r"routing\.yaml:2: the file is not UTF-8 text"):
        load_config(path)


def test_missing_file_is_an_os_error_not_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_config(tmp_path / "absent.yaml")


def test_config_error_is_a_value_error(tmp_path: Path) -> None:
    path = tmp_path / "routing.yaml"
    path.write_text("version: [\n", encoding="utf-8")
    with pytest.raises(ValueError):
        load_config(path)


# --- several problems at once -------------------------------------------------------------


def test_every_structural_problem_is_reported(tmp_path: Path) -> None:
    text = _with(
        ("capacity: 100", "capacity: -5"),
        ("max_wait: 10m", "max_wait: 600"),
        ("    groups: [tier1]\n", "    groups: [tier1]\n    skils: {en: 2}\n"),
    )
    assert [p.split(": ", 1)[0] for p in _problems(tmp_path, text)] == [
        f"{tmp_path / 'routing.yaml'}:{_line(text, 'capacity')}",
        f"{tmp_path / 'routing.yaml'}:{_line(text, 'skils')}",
        f"{tmp_path / 'routing.yaml'}:{_line(text, 'max_wait')}",
    ]


def test_every_cross_reference_problem_is_reported(tmp_path: Path) -> None:
    text = _with(
        ("blocks: [chat]", "blocks: [chats]"),
        ("skills: {billing: 2}", "skills: {biling: 2}"),
        ("      queue: billing", "      queue: bill"),
    )
    assert [p.split(": ", 1)[0] for p in _problems(tmp_path, text)] == [
        f"{tmp_path / 'routing.yaml'}:{_line(text, 'chats')}",
        f"{tmp_path / 'routing.yaml'}:{_line(text, 'biling')}",
        f"{tmp_path / 'routing.yaml'}:{_line(text, 'queue: bill')}",
    ]


def test_problems_come_sorted_by_line(tmp_path: Path) -> None:
    text = _with(
        ("default: billing", "default: nowhere"),
        ("blocks: [chat]", "blocks: [chats]"),
    )
    lines = [int(p.split(":")[1]) for p in _problems(tmp_path, text)]
    assert lines == sorted(lines)

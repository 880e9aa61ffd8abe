"""Turns JSON Schema validation errors into short findings a person can act on."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from router.config.durations import DURATION_PATTERN, SERVICE_LEVEL_PATTERN
from router.config.schema import LISTEN_PATTERN, NAME_PATTERN, REDIS_URL_PATTERN
from router.config.source import Finding, Path

if TYPE_CHECKING:  # jsonschema is imported only to explain a file that fails
    from jsonschema.exceptions import ValidationError

_PATTERN_HINTS = {
    DURATION_PATTERN: (
        "malformed duration",
        "write digits with a unit, largest first: 500ms, 20s, 5m, 2h, 1h30m",
    ),
    SERVICE_LEVEL_PATTERN: ("malformed service level", "write it as '80% within 20s'"),
    NAME_PATTERN: (
        "invalid name",
        "use lower-case letters, digits, '_' and '-', starting with a letter",
    ),
    LISTEN_PATTERN: ("invalid listen address", "write it as host:port, e.g. 127.0.0.1:8080"),
    REDIS_URL_PATTERN: ("invalid Redis URL", "it starts with redis://, rediss:// or unix://"),
}

_KINDS = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "null": "nothing",
}

# The schema only ever asks for at least one entry, hence "must not be empty".
_TEMPLATES = {
    "minimum": "must be at least {limit}, got {value}",
    "maximum": "must be at most {limit}, got {value}",
    "minItems": "must not be empty",
    "minProperties": "must not be empty",
    "minLength": "must not be empty",
    "maxItems": "has {count} entries; at most {limit} are allowed",
    "maxProperties": "has {count} entries; at most {limit} are allowed",
    "maxLength": "is longer than {limit} characters",
    "enum": "must be {limit}, got {value}",
}


def describe(errors: Iterable[ValidationError]) -> list[Finding]:
    """One finding per distinct problem in `errors` (jsonschema's, from `iter_errors`)."""
    findings: list[Finding] = []
    for error in errors:
        for finding in _describe(error):
            if finding not in findings:
                findings.append(finding)
    return findings


def _describe(error: ValidationError) -> list[Finding]:
    path: Path = tuple(error.absolute_path)
    keyword = error.validator
    if keyword == "additionalProperties":
        return _unknown_keys(error, path)
    if keyword == "anyOf":
        return _any_of(error, path)
    if keyword in ("type", "pattern"):
        return [_wrong_value(error, path)]
    if keyword == "required":
        missing = [key for key in error.validator_value if key not in error.instance]
        return [Finding(path, f"missing required key {key!r}") for key in missing]
    return [Finding(path, _simple_message(keyword, error.validator_value, error.instance))]


def _unknown_keys(error: ValidationError, path: Path) -> list[Finding]:
    known = list(error.schema.get("properties", {}))
    findings = []
    for key in error.instance:
        if key not in known:
            message = f"unknown key {key!r}{did_you_mean(str(key), known)}"
            findings.append(Finding(path, message, at=(*path, key)))
    return findings


def _any_of(error: ValidationError, path: Path) -> list[Finding]:
    # A branch that failed for a reason other than the value's kind is the branch the author
    # meant (a mapping with a typo in it, a string with a bad pattern): report what is inside.
    meant = [
        e for e in error.context if not (e.validator == "type" and tuple(e.absolute_path) == path)
    ]
    if meant:
        return describe(meant)
    if any(sub.schema.get("pattern") == DURATION_PATTERN for sub in error.context):
        return [_pattern_finding(DURATION_PATTERN, error.instance, path)]
    expected = [_kind_name(sub.validator_value) for sub in error.context]
    wanted = ", ".join(expected[:-1]) + f" or {expected[-1]}" if len(expected) > 1 else expected[0]
    return [Finding(path, f"expected {wanted}, got {_kind_of(error.instance)}")]


def _wrong_value(error: ValidationError, path: Path) -> Finding:
    pattern = error.schema.get("pattern")
    if "propertyNames" in error.relative_schema_path:
        # jsonschema reports a bad mapping key at the mapping; point at the key itself.
        finding = _pattern_finding(pattern, error.instance, path)
        return Finding(path, finding.message, at=(*path, error.instance))
    if error.validator == "pattern" or pattern == DURATION_PATTERN:
        # A bare number where a duration belongs is a malformed duration, not a type error.
        return _pattern_finding(pattern, error.instance, path)
    message = f"expected {_kind_name(error.validator_value)}, got {_kind_of(error.instance)}"
    if isinstance(error.instance, bool) and error.validator_value == "string":
        message += " (YAML reads yes/no/on/off/true/false as booleans: put it in quotes)"
    return Finding(path, message)


def _pattern_finding(pattern: str | None, value: Any, path: Path) -> Finding:
    what, hint = _PATTERN_HINTS.get(pattern or "", ("invalid value", f"it must match {pattern}"))
    return Finding(path, f"{what} {_show(value)}: {hint}")


def _simple_message(keyword: str, limit: Any, value: Any) -> str:
    template = _TEMPLATES.get(keyword, "{value} fails {keyword} {limit}")
    return template.format(
        keyword=keyword,
        limit=_one_of(limit) if keyword == "enum" else limit,
        value=_show(value),
        count=len(value) if isinstance(value, list | dict | str) else 0,
    )


def _one_of(values: list[Any]) -> str:
    shown = [_show(v) for v in values]
    return shown[0] if len(shown) == 1 else "one of " + ", ".join(shown)


def _show(value: Any) -> str:
    """A value as the author wrote it in YAML (strings quoted so blanks show)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return repr(value) if isinstance(value, str) else str(value)


def _kind_name(expected: Any) -> str:
    """`a mapping` for the JSON Schema type `object` (a list of types: each, joined)."""
    if isinstance(expected, list):
        return " or ".join(_kind_name(kind) for kind in expected)
    return _KINDS.get(str(expected), str(expected))


def _kind_of(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    return _show(value)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`; did you mean 'skills'?` when a close choice exists (the first of equals), else ""."""

    def likeness(choice: str) -> float:
        return difflib.SequenceMatcher(None, word, choice).ratio()

    best = max(choices, key=likeness, default=None)
    return f"; did you mean {best!r}?" if best is not None and likeness(best) >= 0.6 else ""

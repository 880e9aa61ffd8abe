"""Durations (`500ms`, `20s`, `1h30m`) and service levels (`80% within 20s`) of the routing file."""

from __future__ import annotations

import re

from router.config.model import ServiceLevel

_UNITS = ("h", "m", "s", "ms")
_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def _duration_body() -> str:
    # Units appear at most once, largest first; spelled as plain alternatives (no look-ahead)
    # so that every JSON Schema tool, including RE2-based ones, accepts the pattern.
    alternatives = []
    for i, unit in enumerate(_UNITS):
        rest = "".join(f"(?:[0-9]+{later})?" for later in _UNITS[i + 1 :])
        alternatives.append(f"[0-9]+{unit}{rest}")
    return "(?:" + "|".join(alternatives) + ")"


DURATION_PATTERN = f"^{_duration_body()}$"
SERVICE_LEVEL_PATTERN = f"^[0-9]{{1,3}}(?:\\.[0-9]+)?% within {_duration_body()}$"

# `match` with `$`, like the JSON Schema validator's `re.search`, so both accept the same strings.
_DURATION = re.compile(DURATION_PATTERN)
_SERVICE_LEVEL = re.compile(SERVICE_LEVEL_PATTERN)
_PART = re.compile(r"([0-9]+)(ms|h|m|s)")


def parse_duration(text: str) -> float:
    """Seconds in a duration such as `1h30m` or `500ms`; ValueError if it is malformed."""
    if not _DURATION.match(text):
        raise ValueError(f"malformed duration {text!r}")
    return sum(int(amount) * _SECONDS[unit] for amount, unit in _PART.findall(text))


def parse_service_level(text: str) -> ServiceLevel:
    """The target in `80% within 20s`: fraction 0.8 within 20 seconds; ValueError if malformed."""
    if not _SERVICE_LEVEL.match(text):
        raise ValueError(f"malformed service level {text!r}")
    percent, within = text.split("% within ")
    return ServiceLevel(fraction=float(percent) / 100, within=parse_duration(within))

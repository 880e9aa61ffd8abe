"""Request and response bodies as msgspec structs: decoding is validation, the schema is derived."""

from __future__ import annotations

import re
from typing import TypeVar

import msgspec

from router.errors import InvalidInput

T = TypeVar("T")

_AT = re.compile(r" - at `\$\.?(?P<path>[^`]*)`$")
_NAMED = re.compile(r"field `(?P<name>[^`]+)`")


class Body(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Base of every request body: unknown fields are refused (typos must not pass)."""


class InteractionIn(Body):
    """A contact from any system; without `queue` the routing file's rules classify it."""

    channel: str
    customer: str
    queue: str | None = None
    text: str | None = None
    priority: int | None = None
    attributes: dict[str, str | int | float | bool] = {}
    skills: dict[str, int] = {}
    session: str | None = None


class TransferIn(Body):
    """Where a transfer goes: a queue, or one agent."""

    queue: str | None = None
    agent: str | None = None


class AgentIn(Body):
    """An agent's profile; `capacity` and `caps` override the routing file's defaults."""

    name: str
    skills: dict[str, int]
    groups: list[str] = []
    capacity: int | None = None
    caps: dict[str, int] = {}


class StatusIn(Body):
    """A status the agent sets: available, break, meeting, wrap_up or offline."""

    status: str


def decode(raw: bytes, kind: type[T]) -> T:
    """Decode and validate a JSON body; InvalidInput names the offending field."""
    try:
        return msgspec.json.decode(raw, type=kind)
    except msgspec.ValidationError as err:  # a DecodeError too: it must be caught first
        raise InvalidInput(_field(str(err)), _message(str(err))) from None
    except msgspec.DecodeError as err:
        raise InvalidInput("body", f"malformed JSON: {err}") from None


def _field(message: str) -> str:
    at = _AT.search(message)
    path = at.group("path").replace("[...]", "") if at else ""
    named = _NAMED.search(message)
    if named:
        path = f"{path}.{named.group('name')}" if path else named.group("name")
    return path or "body"


def _message(message: str) -> str:
    return _AT.sub("", message)

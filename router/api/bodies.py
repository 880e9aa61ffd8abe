"""Request and response bodies as msgspec structs: decoding is validation, the schema is derived."""

from __future__ import annotations

import re
from typing import Annotated, TypeVar

import msgspec

from router.errors import InvalidInput

T = TypeVar("T")

# What JSON and Redis carry as a whole number: a bigger one is refused where it comes in,
# not met later by a serializer or the kernel's 64-bit fields.
Int64 = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
# An agent's capacity, or its cap on one channel: far past any desk, far inside the kernel's.
Units = Annotated[int, msgspec.Meta(ge=0, le=1_000_000)]
# A name given to look something up by: an empty one names nothing.
Name = Annotated[str, msgspec.Meta(min_length=1)]

_AT = re.compile(r" - at `\$\.?(?P<path>[^`]*)`$")
_NAMED = re.compile(r"field `(?P<name>[^`]+)`")


class Body(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Base of every request body: unknown fields are refused (typos must not pass)."""


class InteractionIn(Body):
    """A contact from any system; without `queue` the routing file's rules classify it."""

    channel: Name
    customer: Name
    queue: str | None = None
    text: str | None = None
    priority: Int64 | None = None
    attributes: dict[str, str | Int64 | float | bool] = {}
    skills: dict[str, Int64] = {}
    session: str | None = None


class TransferIn(Body):
    """Where a transfer goes: a queue, or one agent."""

    queue: Name | None = None
    agent: Name | None = None


class AgentIn(Body):
    """An agent's profile; `capacity` and `caps` override the routing file's defaults."""

    name: Name
    skills: dict[str, Int64]
    groups: list[str] = []
    capacity: Units | None = None
    caps: dict[str, Units] = {}


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

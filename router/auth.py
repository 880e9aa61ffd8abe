"""API keys and their roles: who may call what."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import orjson
import yaml

from router.errors import InvalidInput, Unauthorized

ROLES = ("adapter", "agent", "supervisor", "admin")


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller: its role, and for the `agent` role the one agent it is."""

    role: str
    agent: str | None = None


OPEN = Principal("admin")


class Auth:
    """Looks up bearer keys; with no key file every caller is admin (a laptop setup)."""

    def __init__(self, keys: Mapping[str, Principal] | None) -> None:
        # Found by digest in one dict lookup, however many keys there are: a center gives each
        # of its thousands of agents a key, and comparing with each in turn took 1.9 ms a
        # request at 10,000. The lookup's timing can only tell about digests, and a digest does
        # not lead back to a key.
        self._by_digest = None if keys is None else {_digest(k): p for k, p in keys.items()}

    @property
    def enabled(self) -> bool:
        """Whether keys are required."""
        return self._by_digest is not None

    def principal(self, header: str | None, query_key: str | None) -> Principal:
        """The caller from `Authorization: Bearer KEY` (or `?key=KEY`); Unauthorized if unknown."""
        if self._by_digest is None:
            return OPEN
        key = query_key
        if header is not None:
            scheme, _, value = header.partition(" ")
            key = value.strip() if scheme.lower() == "bearer" else None
        if not key:
            raise Unauthorized("an API key is required: Authorization: Bearer KEY")
        principal = self._by_digest.get(_digest(key))
        if principal is None:
            raise Unauthorized("unknown API key")
        return principal


def _digest(key: str) -> bytes:
    # aiohttp decodes header bytes that are not UTF-8 as surrogates: such a key is unknown,
    # not an error.
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).digest()


def load_keys(path: Path) -> dict[str, Principal]:
    """Read a YAML or JSON list of `{key, role}` (agents also `agent: ID`)."""
    field = "ROUTERD_API_KEYS"
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise InvalidInput(field, f"cannot read {path}: {err.strerror}") from None
    try:
        entries = orjson.loads(raw) if path.suffix == ".json" else yaml.safe_load(raw)
    except (orjson.JSONDecodeError, yaml.YAMLError) as err:
        raise InvalidInput(field, f"{path}: {err}") from None
    if not isinstance(entries, list):
        raise InvalidInput(field, f"{path}: expected a list of {{key, role}} entries")
    keys: dict[str, Principal] = {}
    for n, entry in enumerate(entries):
        keys.update([_entry(entry, f"{path}: entry {n}")])
    return keys


def _entry(entry: object, where: str) -> tuple[str, Principal]:
    field = "ROUTERD_API_KEYS"
    if not isinstance(entry, dict):
        raise InvalidInput(field, f"{where}: expected a mapping")
    key, role, agent = entry.get("key"), entry.get("role"), entry.get("agent")
    if not isinstance(key, str) or len(key) < 8:
        raise InvalidInput(field, f"{where}: key must be a string of at least 8 characters")
    if role not in ROLES:
        raise InvalidInput(field, f"{where}: role must be one of {', '.join(ROLES)}")
    if (role == "agent") != isinstance(agent, str):
        raise InvalidInput(field, f"{where}: `agent: ID` is required for, and only for, agents")
    return key, Principal(role, agent if isinstance(agent, str) else None)

"""API keys and their roles: who may call what."""

from __future__ import annotations

import hmac
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

    def __init__(self, keys: dict[str, Principal] | None) -> None:
        self.keys = keys

    @property
    def enabled(self) -> bool:
        """Whether keys are required."""
        return self.keys is not None

    def principal(self, header: str | None, query_key: str | None) -> Principal:
        """The caller from `Authorization: Bearer KEY` (or `?key=KEY`); Unauthorized if unknown."""
        if self.keys is None:
            return OPEN
        key = query_key
        if header is not None:
            scheme, _, value = header.partition(" ")
            key = value.strip() if scheme.lower() == "bearer" else None
        if not key:
            raise Unauthorized("an API key is required: Authorization: Bearer KEY")
        for known, principal in self.keys.items():
            if hmac.compare_digest(known.encode(), key.encode()):
                return principal
        raise Unauthorized("unknown API key")


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

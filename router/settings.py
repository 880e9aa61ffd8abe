"""Daemon settings: the routing file's `server` section, each overridable by ROUTERD_* variables."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from router.config.model import RoutingConfig
from router.errors import InvalidInput

FSYNC_POLICIES = ("always", "everysec", "no")


@dataclass(frozen=True, slots=True)
class Settings:
    """Where the daemon listens, which Redis it uses, where it keeps files."""

    host: str
    port: int
    redis_url: str | None  # None: start the embedded redis-server
    data_dir: Path
    appendfsync: str
    api_keys: Path | None


def parse_listen(text: str, field: str) -> tuple[str, int]:
    """`host:port` (an IPv6 host in brackets) to its parts."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise InvalidInput(field, f"expected host:port, got {text!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def settings_from(config: RoutingConfig, env: Mapping[str, str]) -> Settings:
    """The file's server settings with the environment's overrides applied."""
    server = config.server
    listen = env.get("ROUTERD_LISTEN", server.listen)
    field = "ROUTERD_LISTEN" if "ROUTERD_LISTEN" in env else "server.listen"
    host, port = parse_listen(listen, field)
    fsync = env.get("ROUTERD_APPENDFSYNC", server.appendfsync)
    if fsync not in FSYNC_POLICIES:
        raise InvalidInput("ROUTERD_APPENDFSYNC", f"one of {', '.join(FSYNC_POLICIES)}")
    keys = env.get("ROUTERD_API_KEYS")
    return Settings(
        host=host,
        port=port,
        redis_url=env.get("ROUTERD_REDIS_URL", server.redis_url) or None,
        data_dir=Path(env.get("ROUTERD_DATA_DIR", server.data_dir)),
        appendfsync=fsync,
        api_keys=Path(keys) if keys else None,
    )

"""A new routing file put in force while routerd runs (SIGHUP, `POST /v1/config/reload`).

The engine is rebuilt from Redis under the new file, exactly as a restart would, while
agents' streams stay open. The swap is refused, and the file in force stays, when the new
file is invalid, names another tenant, or would stop routing an interaction routed now.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog

from router.config import load_config
from router.config.model import RoutingConfig
from router.errors import ConfigError, ConfigProblem, ReloadRefused
from router.rebuild import NAMED, Rebuilt

if TYPE_CHECKING:
    from router.service import Router

log = structlog.get_logger("routerd.reload")


@dataclass(frozen=True, slots=True)
class Reloaded:
    """What a reload put in force."""

    source: str
    interactions: int
    agents: int
    trimmed: dict[str, list[str]]  # agent -> profile entries the new file lacks
    restart_needed: list[str]  # server settings changed in the file, applied at restart
    took_s: float

    def as_json(self) -> dict[str, Any]:
        """The API's answer."""
        return dataclasses.asdict(self)


def check_tenant(old: RoutingConfig, new: RoutingConfig) -> None:
    """Another tenant means other keys in Redis: a restart, not a reload."""
    if new.tenant != old.tenant:
        raise ReloadRefused(
            f"tenant: the new file names tenant {new.tenant!r}, routerd runs {old.tenant!r};"
            " a tenant changes only with a restart"
        )


def check_kept(rebuilt: Rebuilt, routed: dict[str, Any]) -> ReloadRefused | None:
    """The refusal of a file under which interactions routed now (keys of `routed`) would be
    left out, if it would; those that were left out already do not count against it.

    Returned, not raised: a raised error's traceback would keep `rebuilt` alive with the
    caller's frame."""
    for reason, ids in rebuilt.left_out.items():
        lost = [ix for ix in ids if ix in routed]
        if lost:
            return ReloadRefused(
                f"the new file would leave {len(lost)} live interaction(s) unrouted ({reason}):"
                f" {', '.join(lost[:NAMED])}"
            )
    return None


def restart_needed(old: RoutingConfig, new: RoutingConfig) -> list[str]:
    """The file's `server` settings that changed: they take effect at the next restart."""
    return [
        f"server.{f.name}"
        for f in dataclasses.fields(old.server)
        if getattr(old.server, f.name) != getattr(new.server, f.name)
    ]


async def reload_file(router: Router) -> Reloaded:
    """Read the router's routing file again and put it in force; ConfigError or ReloadRefused
    leave the file in force as it is."""
    path = router.config.source
    try:
        config = await asyncio.to_thread(_read, path)
        done = await router.reload(config)
    except ConfigError as err:
        log.error("routing_file_refused", file=path, problems=[str(p) for p in err.problems])
        raise
    except ReloadRefused as err:
        log.error("routing_file_refused", file=path, reason=str(err))
        raise
    log.info("routing_file_reloaded", file=path, interactions=done.interactions,
             agents=done.agents, restart_needed=done.restart_needed,
             took_s=done.took_s)  # fmt: skip
    return done


def _read(path: str) -> RoutingConfig:
    try:
        return load_config(path)
    except OSError as err:  # moved or unreadable: a problem with the file, like any other
        raise ConfigError([ConfigProblem(path, 0, "", f"cannot read it: {err.strerror}")]) from None

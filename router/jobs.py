"""What requests hand the routing loop, and where it sends what agents must be told."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from router import decisions as d
from router import events as e
from router.redis_line import Sent
from router.store import Store
from router.transitions import Op


class Publisher:
    """Where committed agent-stream events go (the WebSocket hub); a no-op by default."""

    def publish(self, agent_id: str, seq: int, payload: bytes) -> None:
        """Send one committed event to the agent's open connections."""

    async def catch_up(self, store: Store) -> None:
        """Bring every open connection up to what Redis holds (after Redis failed)."""


@dataclass(slots=True)
class Job:
    """One request's work for the loop, and the future it waits on."""

    event: e.Event | None
    future: asyncio.Future[Any]
    extra: Callable[[], list[Op]] | None = None
    enqueue: Op | None = None
    ingest: bool = False
    stored: bool = False  # the contact is durable: it is answered 201 whatever happens next
    decisions: list[d.Decision] = field(default_factory=list)
    # Where the turn's commit holds the ops the request caused: if Redis refuses one, the
    # request is not answered as done (an accept's own write is a decision's op).
    ops: range = range(0)


@dataclass(slots=True)
class Intake:
    """New contacts whose enqueues are on the wire."""

    jobs: list[Job]
    ops: list[Op]
    sent: Sent

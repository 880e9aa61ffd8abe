"""Open WebSocket connections: each agent's desktops, and the supervisors' wallboards.

Every connection has its own send queue and writer, so a slow desktop never holds up routing.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from aiohttp import web

from router.jobs import Publisher

log = structlog.get_logger("routerd.hub")

QUEUE_LIMIT = 1024


class Line:
    """One open WebSocket and the frames waiting to go out on it."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self.queue: asyncio.Queue[tuple[int, str]] = asyncio.Queue(QUEUE_LIMIT)
        self.writer: asyncio.Task[None] | None = None

    def start(self, after: int = 0) -> None:
        """Start sending what is queued, skipping frames the client already has (seq <= after).

        A line joins the hub before its first frames (hello or replay) are read, so nothing
        committed in between is lost; the overlap is what `after` skips.
        """
        self.writer = asyncio.create_task(self._write(after))

    def send(self, frame: str, seq: int = 0) -> None:
        """Queue a frame; a line that cannot keep up is closed (its client reconnects)."""
        try:
            self.queue.put_nowait((seq, frame))
        except asyncio.QueueFull:
            log.warning("websocket_closed", reason="too_slow")
            if self.writer is not None:
                self.writer.cancel()
            asyncio.create_task(self.ws.close(code=1013, message=b"too slow"))  # noqa: RUF006

    async def _write(self, after: int) -> None:
        while True:
            seq, frame = await self.queue.get()
            if seq == 0 or seq > after:
                await self.ws.send_str(frame)

    async def close(self) -> None:
        """Stop writing."""
        if self.writer is None:
            return
        self.writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.writer


def with_seq(seq: int, payload: bytes) -> str:
    """The event JSON with its sequence number first."""
    body = payload.decode()
    return f'{{"seq":{seq},{body[1:]}' if len(body) > 2 else f'{{"seq":{seq}}}'


class Hub(Publisher):
    """Routes committed events to the lines that want them."""

    def __init__(self) -> None:
        self.agents: dict[str, set[Line]] = {}
        self.supervisors: set[Line] = set()

    def publish(self, agent_id: str, seq: int, payload: bytes) -> None:
        """Send a committed agent event to that agent's lines."""
        lines = self.agents.get(agent_id)
        if lines:
            frame = with_seq(seq, payload)
            for line in lines:
                line.send(frame, seq)

    def join(self, agent_id: str | None, line: Line) -> None:
        """Add a line: an agent's when `agent_id` is given, else a supervisor's."""
        if agent_id is None:
            self.supervisors.add(line)
        else:
            self.agents.setdefault(agent_id, set()).add(line)

    def leave(self, agent_id: str | None, line: Line) -> None:
        """Remove a line."""
        if agent_id is None:
            self.supervisors.discard(line)
            return
        lines = self.agents.get(agent_id, set())
        lines.discard(line)
        if not lines:
            self.agents.pop(agent_id, None)

    def broadcast(self, frame: str) -> None:
        """Send a frame to every supervisor line."""
        for line in self.supervisors:
            line.send(frame)

    async def close_all(self) -> None:
        """Close every line (shutdown)."""
        lines = [*self.supervisors, *(x for s in self.agents.values() for x in s)]
        for line in lines:
            await line.close()
            await line.ws.close(code=1001, message=b"routerd is shutting down")

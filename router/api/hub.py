"""Open WebSocket connections: each agent's desktops, and the supervisors' wallboards.

A frame goes out the moment it is sent, written straight to its connection's transport: a
writer task per connection cost a task wake-up and aiohttp's send coroutine per frame, about a
tenth of routerd's CPU in a busy center. Routing never waits on a desktop, since a transport
write never blocks; one that stops reading is closed once its unsent bytes pass BUFFER_LIMIT.
"""

from __future__ import annotations

import asyncio
import struct

import structlog
from aiohttp import web

from router.jobs import Publisher
from router.store import Store

log = structlog.get_logger("routerd.hub")

# Frames held for a line that has not started (its hello or replay is still going out).
HELD_LIMIT = 1024
# Unsent bytes past which a line counts as too slow: about a thousand offers.
BUFFER_LIMIT = 256 * 1024

_FIN_TEXT = 0x81
_SHORT = struct.Struct("!BB")
_MEDIUM = struct.Struct("!BBH")
_LONG = struct.Struct("!BBQ")


def text_frame(data: bytes) -> bytes:
    """`data` as one unmasked WebSocket text frame (RFC 6455 5.2), as a server sends it."""
    n = len(data)
    if n < 126:
        return _SHORT.pack(_FIN_TEXT, n) + data
    if n < 65536:
        return _MEDIUM.pack(_FIN_TEXT, 126, n) + data
    return _LONG.pack(_FIN_TEXT, 127, n) + data


class Line:
    """One open WebSocket, written to as frames are sent."""

    def __init__(self, ws: web.WebSocketResponse, transport: asyncio.Transport | None) -> None:
        self.ws = ws
        self._transport = transport
        self._held: list[tuple[int, bytes]] | None = []
        self.last = 0  # the seq of the last event the client has

    def start(self, after: int = 0) -> None:
        """Start sending, first what was held, skipping frames the client has (seq <= after).

        A line joins the hub before its first frames (hello or replay) are read, so nothing
        committed in between is lost; the overlap is what `after` skips.
        """
        held, self._held = self._held or [], None
        self.last = after
        for seq, frame in held:
            self.send(frame, seq)

    def send(self, frame: bytes, seq: int = 0) -> None:
        """Send a frame (UTF-8 JSON), or hold it until `start`; a line that cannot keep up is
        closed."""
        if self._held is not None:
            if len(self._held) < HELD_LIMIT:
                self._held.append((seq, frame))
            else:
                self._too_slow()
            return
        if seq and seq <= self.last:
            return  # committed before the hello or replay, which gave it to the client
        transport = self._transport
        if transport is None or transport.is_closing():
            return  # a client that went reconnects with ?since and gets what it missed
        transport.write(text_frame(frame))
        if seq:
            self.last = seq
        if transport.get_write_buffer_size() > BUFFER_LIMIT:
            self._too_slow()

    @property
    def started(self) -> bool:
        """Whether frames go out as sent (the hello or replay is out, and it is open)."""
        return self._held is None and self._transport is not None

    def catch_up(self, events: list[tuple[int, bytes]] | None) -> None:
        """Send what the client missed after `last` (`Store.missed_events`); one the kept
        events cannot bring up to date (None) is closed, and reconnects with ?since for a
        hello."""
        if events is None:
            self._reset(b"reconnect with ?since")
            return
        for seq, payload in events:
            self.send(with_seq(seq, payload), seq)

    def _too_slow(self) -> None:
        log.warning("websocket_closed", reason="too_slow")
        self._reset(b"too slow")

    def _reset(self, why: bytes) -> None:
        self.close()
        asyncio.create_task(self.ws.close(code=1013, message=why))  # noqa: RUF006

    def close(self) -> None:
        """Stop sending."""
        self._transport = None
        self._held = None


def with_seq(seq: int, payload: bytes) -> bytes:
    """The event JSON with its sequence number first."""
    return b'{"seq":%d,%s' % (seq, payload[1:]) if len(payload) > 2 else b'{"seq":%d}' % seq


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

    async def catch_up(self, store: Store) -> None:
        """Send each open agent line what Redis holds past its last frame: events whose commit
        routerd gave up on when Redis failed, though Redis ran it."""
        lines = [(a, line) for a, group in self.agents.items() for line in group if line.started]
        if not lines:
            return
        seqs = await store.dump([store.keys.agent(a) for a, _ in lines], ["seq"])
        for (agent_id, line), seq in zip(lines, seqs, strict=True):
            if int(seq or 0) != line.last:
                line.catch_up(await store.missed_events(agent_id, line.last))

    async def close_all(self) -> None:
        """Close every line (shutdown)."""
        lines = [*self.supervisors, *(x for s in self.agents.values() for x in s)]
        for line in lines:
            line.close()
            await line.ws.close(code=1001, message=b"routerd is shutting down")

"""A lean WebSocket client for the simulated desks: the upgrade, then text frames both ways.

aiohttp's client spends about as much CPU per frame as the server it measures, and with
hundreds of busy desks (or 19,000 idle ones) on two cores the driver took what routerd needed.
This one parses the server's frames in place and sends its own with an all-zero mask key, a
valid key that leaves the payload as it is: a load generator need not hide its bytes from
proxies as a browser must.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
from collections.abc import Callable
from typing import cast
from urllib.parse import urlsplit

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455's, for Sec-WebSocket-Accept
_TEXT, _CLOSE, _PING, _PONG = 0x1, 0x8, 0x9, 0xA
_NO_MASK = b"\x00\x00\x00\x00"


class HandshakeError(ConnectionError):
    """The server did not switch protocols as asked."""


def frame(opcode: int, payload: bytes) -> bytes:
    """One final client frame, masked with the zero key."""
    n = len(payload)
    if n < 126:
        head = bytes((0x80 | opcode, 0x80 | n))
    elif n < 65536:
        head = bytes((0x80 | opcode, 0x80 | 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, 0x80 | 127)) + n.to_bytes(8, "big")
    return head + _NO_MASK + payload


class DeskSocket(asyncio.Protocol):
    """One agent's stream; `on_text(socket, payload)` for each text frame the server sends,
    and `greeted` holds the first one."""

    def __init__(self, on_text: Callable[[DeskSocket, bytes], None]) -> None:
        self.on_text = on_text
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.key = base64.b64encode(os.urandom(16))
        self.upgraded: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.greeted: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def connection_lost(self, exc: Exception | None) -> None:
        for waiter in (self.upgraded, self.greeted):
            if not waiter.done():
                waiter.set_exception(ConnectionError("connection closed"))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.upgraded.done() and not self._upgrade():
            return
        self._frames()

    def send_text(self, payload: bytes) -> None:
        """Send one text frame; ConnectionError once the connection is gone."""
        if self.transport is None or self.transport.is_closing():
            raise ConnectionError("connection closed")
        self.transport.write(frame(_TEXT, payload))

    def close(self) -> None:
        """Drop the connection."""
        if self.transport is not None:
            self.transport.close()

    def _upgrade(self) -> bool:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return False
        head = bytes(self.buffer[:end]).lower()
        del self.buffer[: end + 4]
        accept = base64.b64encode(hashlib.sha1(self.key + _GUID).digest()).lower()
        if not head.startswith(b"http/1.1 101") or accept not in head:
            self.upgraded.set_exception(HandshakeError(f"no upgrade: {head[:200]!r}"))
            self.close()
            return False
        self.upgraded.set_result(None)
        return True

    def _frames(self) -> None:
        buf = self.buffer
        while len(buf) >= 2:
            opcode, n, at = buf[0] & 0x0F, buf[1] & 0x7F, 2
            if n == 126:
                if len(buf) < 4:
                    return
                n, at = int.from_bytes(buf[2:4], "big"), 4
            elif n == 127:
                if len(buf) < 10:
                    return
                n, at = int.from_bytes(buf[2:10], "big"), 10
            if len(buf) < at + n:
                return
            payload = bytes(buf[at : at + n])
            del buf[: at + n]
            self._frame(opcode, payload)

    def _frame(self, opcode: int, payload: bytes) -> None:
        # The server sends small final frames, unmasked; no continuation frames to join.
        if opcode == _TEXT:
            if not self.greeted.done():  # the first frame, which may come with the upgrade
                self.greeted.set_result(payload)
            self.on_text(self, payload)
        elif opcode == _PING and self.transport is not None:
            self.transport.write(frame(_PONG, payload))
        elif opcode == _CLOSE:
            self.close()


async def connect(url: str, on_text: Callable[[DeskSocket, bytes], None]) -> DeskSocket:
    """Open a stream at `url` (http://host:port/path) and complete its upgrade."""
    parts = urlsplit(url)
    loop = asyncio.get_running_loop()
    _, sock = await loop.create_connection(
        lambda: DeskSocket(on_text), parts.hostname or "127.0.0.1", parts.port or 80
    )
    assert sock.transport is not None
    sock.transport.write(
        f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {sock.key.decode()}\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    await sock.upgraded
    return sock

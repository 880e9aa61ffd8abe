"""Real processes for integration tests: routerd as a subprocess, and a redis-server to stop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson

from router.redis_server import PIDFILE, find_redis_server
from tests.unit.engine_kit import BASE

REPO = Path(__file__).resolve().parents[2]
# Offers outlive a daemon restart or two: an offer that expires excludes its agent from the
# contact, and these tests are about crashes, not about agents that never answer.
ROUTING = BASE.replace("offers: {timeout: 15s,", "offers: {timeout: 60s,")
assert ROUTING != BASE, "the routing file's offers line moved; adapt ROUTING"
START_TIMEOUT = 60.0  # two shared cores: an import-heavy start may take a while


def write_routing(folder: Path) -> Path:
    """The test routing file, written for `-c`."""
    path = folder / "routing.yaml"
    path.write_text(ROUTING)
    return path


def gone(pid: int) -> bool:
    """Whether the process has exited (a zombie nobody reaped counts as exited)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[0] == "Z"


def kill_pid(pid: int, timeout: float = 10.0) -> None:
    """SIGKILL a process that may not be our child, and wait until it is gone."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while not gone(pid):
        if time.monotonic() > deadline:
            raise TimeoutError(f"process {pid} outlived SIGKILL")
        time.sleep(0.01)


def _stop(proc: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM, then SIGKILL if it lingers; a SIGSTOPped process gets SIGCONT to hear it."""
    if proc.poll() is not None:
        return
    proc.terminate()
    with contextlib.suppress(ProcessLookupError):
        os.kill(proc.pid, signal.SIGCONT)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class Routerd:
    """`python -m router run` in a subprocess, its JSON log in a file, restartable."""

    def __init__(
        self, workdir: Path, port: int, env: Mapping[str, str], data_dir: Path | None = None
    ) -> None:
        self.config = write_routing(workdir)
        self.data_dir = data_dir or workdir / "data"
        self.log_path = workdir / "routerd.log"
        self.port = port
        self.env = {
            **os.environ,
            "ROUTERD_LISTEN": f"127.0.0.1:{port}",
            "ROUTERD_DATA_DIR": str(self.data_dir),
            "ROUTERD_LOG_FORMAT": "json",
            **env,
        }
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The API's base URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        """The running daemon's process id."""
        assert self.proc is not None
        return self.proc.pid

    def log(self) -> list[dict[str, Any]]:
        """Every JSON line the daemon wrote to stderr, across its restarts."""
        if not self.log_path.exists():
            return []
        lines = self.log_path.read_bytes().splitlines()
        return [orjson.loads(x) for x in lines if x.startswith(b"{")]

    def readies(self) -> list[dict[str, Any]]:
        """The `routerd ready` lines so far, one per successful start."""
        return [x for x in self.log() if x.get("event") == "routerd_ready"]

    async def start(self) -> dict[str, Any]:
        """Start the daemon and wait for its `routerd ready` line, which it returns."""
        assert self.proc is None or self.proc.poll() is not None, "routerd is running"
        before = len(self.readies())
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "router", "run", "-c", str(self.config)],
                cwd=REPO,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while len(readies := self.readies()) == before:
            if self.proc.poll() is not None:
                raise RuntimeError(f"routerd exited {self.proc.returncode}: {self._tail()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"routerd not ready in {START_TIMEOUT}s: {self._tail()}")
            await asyncio.sleep(0.05)
        return readies[-1]

    def _tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-2000:] if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL the daemon (a crash: nothing is flushed, the embedded Redis lives on)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    @property
    def embedded_redis_pid(self) -> int | None:
        """The embedded redis-server's pid from its pidfile, if it wrote one."""
        with contextlib.suppress(OSError, ValueError):
            return int((self.data_dir / PIDFILE).read_text().strip())
        return None

    def kill_embedded_redis(self) -> None:
        """SIGKILL the embedded redis-server; the next start brings it back from its AOF."""
        pid = self.embedded_redis_pid
        assert pid is not None, "no embedded redis-server pidfile"
        kill_pid(pid)

    def close(self) -> None:
        """Stop the daemon and whatever embedded redis-server a crash left behind."""
        if self.proc is not None:
            _stop(self.proc, timeout=15.0)
        pid = self.embedded_redis_pid
        if pid is not None and not gone(pid):
            kill_pid(pid)


class RedisServer:
    """A redis-server on a loopback TCP port with AOF on, to kill, stop and bring back."""

    def __init__(self, folder: Path, port: int) -> None:
        self.folder = folder
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None
        folder.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        """The redis-py URL of the server."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 20.0) -> None:
        """Start (or restart, from the AOF in the same folder) and wait until it answers."""
        assert self.proc is None or self.proc.poll() is not None, "redis-server is running"
        self.proc = subprocess.Popen(
            self._command(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while not self.answers():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.02)

    def _command(self) -> list[str]:
        return [
            find_redis_server(),
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.folder),
            "--appendonly", "yes",
            "--appendfsync", "always",
            "--save", "",
            "--daemonize", "no",
            "--logfile", str(self.folder / "redis.log"),
        ]  # fmt: skip

    def answers(self) -> bool:
        """Whether it answers PING right now."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL: gone at once, with whatever its AOF holds kept on disk."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def pause(self) -> None:
        """SIGSTOP: connections stay open and nothing answers (a hung server)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT after `pause`."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def close(self) -> None:
        """Stop it for good (teardown)."""
        if self.proc is not None:
            _stop(self.proc, timeout=10.0)


class RedisLine:
    """A TCP proxy in front of a Redis, for cutting routerd off at a chosen moment.

    `cut_after(marker)` lets the request holding `marker` through, and cuts every connection
    at the next request: Redis has then answered the marked one, and nothing after it.
    While cut, new connections are dropped at once; `mend` lets them through again.
    `hold(marker)` keeps the request holding `marker` from Redis, and every later one on its
    connection, until `release`; other connections go on.
    """

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.down = False
        self._marker: bytes | None = None
        self._tripped = False
        self._hold: bytes | None = None
        self.holding = asyncio.Event()  # set once the request to hold has come
        self._released = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._transports: set[asyncio.WriteTransport] = set()
        self._sessions: set[asyncio.Task[Any]] = set()

    @property
    def url(self) -> str:
        """The redis-py URL to give routerd."""
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        """Listen on a free loopback port."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def cut_after(self, marker: bytes) -> None:
        """Cut the line at the first request after the one that contains `marker`."""
        self._marker, self._tripped = marker, False

    def cut(self) -> None:
        """Drop every connection now, and every new one until `mend`."""
        self.down = True
        for transport in self._transports:
            transport.abort()
        self._transports.clear()

    def hold(self, marker: bytes) -> None:
        """Hold the first request that contains `marker`, and its connection, until `release`."""
        self._hold = marker
        self.holding.clear()
        self._released.clear()

    def release(self) -> None:
        """Let the held connection go on."""
        self._released.set()

    def mend(self) -> None:
        """Let connections through again."""
        self.down, self._marker, self._tripped = False, None, False

    async def close(self) -> None:
        """Stop listening and drop every connection."""
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        # Let the cut connections' handlers finish rather than be cancelled at loop end.
        await asyncio.gather(*self._sessions, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = asyncio.current_task()
        assert session is not None
        self._sessions.add(session)
        session.add_done_callback(self._sessions.discard)
        if self.down:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        pair = {writer.transport, up_writer.transport}
        self._transports |= pair
        await asyncio.gather(
            self._pump(reader, up_writer, requests=True),
            self._pump(up_reader, writer, requests=False),
            return_exceptions=True,
        )
        for transport in pair:
            transport.abort()
        self._transports -= pair

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, requests: bool
    ) -> None:
        try:
            while data := await reader.read(65536):
                if requests and self._tripped:
                    self.cut()
                    return
                if requests and self._marker is not None and self._marker in data:
                    self._marker, self._tripped = None, True
                if requests and self._hold is not None and self._hold in data:
                    self._hold = None
                    self.holding.set()
                    await self._released.wait()
                writer.write(data)
                await writer.drain()
        finally:
            writer.transport.abort()  # one side gone: the other goes too

"""Processes of the load benchmark: the daemon with its embedded Redis, and the bare server."""

from __future__ import annotations

import asyncio
import compileall
import contextlib
import functools
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import orjson
import redis

from router.redis_server import EmbeddedRedis

REPO = Path(__file__).resolve().parents[1]
ROUTING = REPO / "bench" / "load.yaml"
CLK_TCK = os.sysconf("SC_CLK_TCK")
STOP_TIMEOUT = 20.0
READY_TIMEOUT = 300.0


@functools.cache  # once per benchmark process: the sources do not change during a run
def compile_bytecode() -> None:
    """Compile routerd's modules as `pip install` does for an installed package. An editable
    install run with PYTHONDONTWRITEBYTECODE set never caches them, and every start would then
    spend about 0.1 s compiling them again; the restart is to time routerd, not the compiler."""
    for package in ("router", "native", "adapters"):
        compileall.compile_dir(REPO / package, quiet=1)


def free_port() -> int:
    """A TCP port on loopback that nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set (VmHWM) in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for pid {pid}")


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time of a live process (0 when it is gone)."""
    if pid is None:
        return 0.0
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    # Fields after the parenthesised command name, which may itself hold spaces.
    fields = stat.rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def busy_seconds() -> float:
    """CPU time every process of the machine used since boot (all cores, not idle/iowait)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / CLK_TCK


@dataclass
class CpuMeter:
    """Cores each named process used over a phase, and what the rest of the machine used."""

    pids: dict[str, int | None]
    began: float = field(default_factory=time.perf_counter)
    marks: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.marks = self._now()

    def _now(self) -> dict[str, float]:
        return {"all": busy_seconds()} | {n: cpu_seconds(p) for n, p in self.pids.items()}

    def read(self) -> dict[str, float]:
        """Cores used since the meter started (1.0: one core busy all the time); `others` is
        the rest of the machine: other people's work, and interrupt time."""
        wall = time.perf_counter() - self.began
        now = self._now()
        used = {n: (now[n] - self.marks[n]) / wall for n in now}
        used["others"] = max(0.0, used.pop("all") - sum(used.values()))
        return {n: round(v, 2) for n, v in used.items()}


def _stop_child(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        proc.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


async def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float) -> float:
    """Poll `url` until it answers 200; the seconds that took (the process must stay up)."""
    began = time.perf_counter()
    async with aiohttp.ClientSession() as session:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}")
            with contextlib.suppress(aiohttp.ClientError, OSError):
                async with session.get(url) as resp:
                    if resp.status == 200:
                        return time.perf_counter() - began
            if time.perf_counter() - began > timeout:
                raise RuntimeError(f"{url} not healthy within {timeout}s")
            await asyncio.sleep(0.005)


@dataclass
class Daemon:
    """`python -m router run` on a loopback port with its embedded Redis in `data_dir`."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    launcher: tuple[str, ...] = (sys.executable, "-m", "router")  # a profiler may wrap it
    proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        """The API's base URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def redis_pid(self) -> int | None:
        """The embedded redis-server's pid, from its pidfile."""
        return EmbeddedRedis(self.data_dir).pid

    @property
    def log_path(self) -> Path:
        """Where the daemon's JSON log lines go (a file, so a full pipe never stalls it)."""
        return self.data_dir.parent / f"{self.data_dir.name}.log"

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ROUTERD_")}
        env |= {
            "ROUTERD_LISTEN": f"127.0.0.1:{self.port}",
            "ROUTERD_DATA_DIR": str(self.data_dir),
            "ROUTERD_APPENDFSYNC": "everysec",
            "ROUTERD_LOG_FORMAT": "json",
            "ROUTERD_LOG_LEVEL": "info",
        }
        return env

    async def start(self) -> float:
        """Spawn the daemon; seconds from spawn to /healthz answering 200."""
        compile_bytecode()
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [*self.launcher, "run", "-c", str(ROUTING)],
                cwd=REPO,
                env=self._env(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        return await wait_healthy(f"{self.base}/healthz", self.proc, READY_TIMEOUT)

    @property
    def pid(self) -> int:
        """The running daemon's pid."""
        assert self.proc is not None
        return self.proc.pid

    def kill(self) -> None:
        """SIGKILL the daemon: its embedded Redis keeps running, to be adopted."""
        if self.proc is not None:
            _stop_child(self.proc, signal.SIGKILL)

    def stop(self) -> None:
        """SIGTERM the daemon (it stops its Redis); then make sure that Redis is gone too."""
        if self.proc is not None:
            _stop_child(self.proc)
        EmbeddedRedis(self.data_dir).stop(STOP_TIMEOUT)  # the adopted one of a killed daemon

    def redis_used_memory(self) -> int:
        """Redis `used_memory` in bytes, read on the embedded server's unix socket."""
        client = redis.Redis(unix_socket_path=str(self.data_dir / "redis.sock"))
        try:
            info = client.info("memory")
            return int(info["used_memory"])
        finally:
            client.close()

    def log_lines(self) -> list[dict[str, object]]:
        """The daemon's JSON log lines so far (lines that are not JSON are skipped)."""
        out = []
        for raw in self.log_path.read_bytes().splitlines():
            with contextlib.suppress(orjson.JSONDecodeError):
                line = orjson.loads(raw)
                if isinstance(line, dict):
                    out.append(line)
        return out


@dataclass
class Ceiling:
    """The bare aiohttp + uvloop server of bench.load_ceiling in its own process."""

    port: int = field(default_factory=free_port)
    launcher: tuple[str, ...] = (sys.executable, "-m", "bench.load_ceiling")  # may be wrapped
    proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        """The server's base URL."""
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        """Spawn the server and wait until it answers."""
        self.proc = subprocess.Popen(
            [*self.launcher, str(self.port)],
            cwd=REPO,
            stdin=subprocess.DEVNULL,
        )
        await wait_healthy(f"{self.base}/healthz", self.proc, READY_TIMEOUT)

    def stop(self) -> None:
        """Stop the server."""
        if self.proc is not None:
            _stop_child(self.proc)

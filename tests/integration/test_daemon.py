"""`routerd run` as a process: ready to serve, a desk takes a contact on the daemon's own event
loop (uvloop), SIGTERM exits 0 keeping every interaction, and a bad routing file is refused
before anything starts."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import orjson
import pytest

from bench.load_proc import free_port
from tests.integration.api_kit import NO_BILLING, ROUTING, edited, next_frame

ROOT = Path(__file__).resolve().parents[2]
RUN = [sys.executable, "-m", "router", "run", "-c"]


class Daemon:
    """One `python -m router run` process on its own port and data folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.config = folder / "routing.yaml"
        self.config.write_text(ROUTING.replace("OFFER_TIMEOUT", "15s"))
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {
            **os.environ,
            "ROUTERD_LISTEN": f"127.0.0.1:{self.port}",
            "ROUTERD_DATA_DIR": str(self.folder / "data"),
        }
        env.pop("ROUTERD_REDIS_URL", None)
        with (self.folder / "routerd.log").open("ab") as log:
            self.proc = subprocess.Popen(
                [*RUN, str(self.config)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log
            )
        deadline = time.monotonic() + 30
        while not self._healthy():
            assert self.proc.poll() is None, "routerd exited"
            assert time.monotonic() < deadline, "routerd did not become ready"
            time.sleep(0.05)

    def _healthy(self) -> bool:
        try:
            return self.call("GET", "/healthz")[0] == 200
        except OSError:  # not listening yet
            return False

    def call(self, method: str, path: str, body: object = None) -> tuple[int, object]:
        data = None if body is None else orjson.dumps(body)
        url = f"http://127.0.0.1:{self.port}{path}"
        request = urllib.request.Request(url, data=data, method=method)
        try:
            with urllib.request.urlopen(request, timeout=5) as r:
                return r.status, orjson.loads(r.read() or b"null")
        except urllib.error.HTTPError as err:
            return err.code, orjson.loads(err.read() or b"null")

    def terminate(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=30)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        pidfile = self.folder / "data" / "redis.pid"
        if pidfile.exists():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pidfile.read_text()), signal.SIGKILL)


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    running = Daemon(tmp_path)
    running.start()
    try:
        yield running
    finally:
        running.kill()


def _contact(daemon: Daemon) -> str:
    status, answer = daemon.call("POST", "/v1/interactions", {"channel": "chat", "customer": "c"})
    assert status == 201 and isinstance(answer, dict)
    ident: str = answer["id"]
    return ident


def test_a_desk_takes_a_contact_on_the_daemons_loop(daemon: Daemon) -> None:
    daemon.call("PUT", "/v1/agents/a1", {"name": "A", "skills": {"en": 3}})
    daemon.call("POST", "/v1/agents/a1/status", {"status": "available"})

    async def desk() -> tuple[str, str, list[bool]]:
        url = f"http://127.0.0.1:{daemon.port}/v1/agents/a1/stream"
        async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
            await next_frame(ws, "hello")
            ix = await asyncio.to_thread(_contact, daemon)
            offer = await next_frame(ws, "offer")
            await ws.send_json({"action": "accept", "offer_id": offer["offer_id"], "ref": 1})
            accepted = await next_frame(ws, "reply")
            await ws.send_json({"action": "complete", "interaction_id": ix, "ref": 2})
            completed = await next_frame(ws, "reply")
            return ix, offer["interaction_id"], [accepted["ok"], completed["ok"]]

    ix, offered, replies = asyncio.run(desk())
    status, answer = daemon.call("GET", f"/v1/interactions/{ix}")
    state = answer["state"] if isinstance(answer, dict) else None
    assert (offered, replies, status, state) == (ix, [True, True], 200, "done")


def test_sigterm_exits_zero(daemon: Daemon) -> None:
    _contact(daemon)
    assert daemon.terminate() == 0


def test_sigterm_stops_the_embedded_redis(daemon: Daemon) -> None:
    pid = int((daemon.folder / "data" / "redis.pid").read_text())
    daemon.terminate()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_interactions_outlive_a_sigterm(daemon: Daemon) -> None:
    ix = _contact(daemon)
    daemon.terminate()
    daemon.start()
    status, answer = daemon.call("GET", f"/v1/interactions/{ix}")
    assert (status, isinstance(answer, dict) and answer["state"]) == (200, "queued")


def test_a_private_redis_that_dies_is_started_again_with_its_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROUTERD_APPENDFSYNC", "always")  # everysec may lose the last second
    daemon = Daemon(tmp_path)
    daemon.start()
    try:
        _redis_dies_and_comes_back(daemon)
    finally:
        daemon.kill()


def test_a_private_redis_that_cannot_start_again_is_tried_less_and_less_often(
    daemon: Daemon,
) -> None:
    data = daemon.folder / "data"
    os.kill(int((data / "redis.pid").read_text()), signal.SIGKILL)
    (data / "appendonly.aof").write_bytes(b"not an AOF\r\n")  # redis-server refuses to load it
    log, deadline = daemon.folder / "routerd.log", time.monotonic() + 30
    pauses: list[float] = []
    while len(pauses) < 2:
        assert time.monotonic() < deadline, f"restarts failed with pauses {pauses}"
        time.sleep(0.2)
        lines = [orjson.loads(x) for x in log.read_bytes().splitlines() if x.startswith(b"{")]
        pauses = [x["retry_in_s"] for x in lines if x["event"] == "embedded_redis_restart_failed"]
    assert pauses[:2] == [2.0, 4.0]


def _redis_dies_and_comes_back(daemon: Daemon) -> None:
    ix = _contact(daemon)
    os.kill(int((daemon.folder / "data" / "redis.pid").read_text()), signal.SIGKILL)
    deadline = time.monotonic() + 30
    # A request that meets a pooled connection to the dead server is answered 503 (Retry-After).
    while (status := daemon.call("GET", f"/v1/interactions/{ix}"))[0] != 200:
        assert time.monotonic() < deadline, f"routing did not go on: {status}"
        time.sleep(0.1)
    state = status[1]["state"] if isinstance(status[1], dict) else None
    assert (_gone_and_back(daemon), state) == (True, "queued")


def _gone_and_back(daemon: Daemon) -> bool:
    """Whether routerd's log says its private Redis was started again."""
    return b"embedded_redis_restarted" in (daemon.folder / "routerd.log").read_bytes()


def test_sigterm_while_redis_is_unreachable_at_start_exits_zero(tmp_path: Path) -> None:
    daemon = Daemon(tmp_path)
    log = tmp_path / "routerd.log"
    env = {**os.environ, "ROUTERD_LISTEN": f"127.0.0.1:{daemon.port}",
           "ROUTERD_REDIS_URL": f"redis://127.0.0.1:{free_port()}"}  # fmt: skip
    with log.open("ab") as err:
        proc = subprocess.Popen([*RUN, str(daemon.config)], cwd=ROOT, env=env, stderr=err)
    try:
        deadline = time.monotonic() + 30
        while b"redis_unreachable_at_start" not in log.read_bytes():
            assert proc.poll() is None and time.monotonic() < deadline, "no retry logged"
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
    finally:
        proc.kill()
    assert code == 0


def test_a_bad_routing_file_is_refused_with_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(ROUTING.replace("OFFER_TIMEOUT", "15 parsecs"))
    run = subprocess.run(
        [*RUN, str(bad)], check=False, cwd=ROOT, capture_output=True, text=True, timeout=30
    )
    assert run.returncode == 1 and f"{bad}:" in run.stderr and "timeout" in run.stderr


def test_a_missing_routing_file_is_refused(tmp_path: Path) -> None:
    missing = str(tmp_path / "no.yaml")
    run = subprocess.run(
        [*RUN, missing], check=False, cwd=ROOT, capture_output=True, text=True, timeout=30
    )
    assert run.returncode == 2 and "no such file" in run.stderr


def _hang_up_until(daemon: Daemon, queues: list[str]) -> list[str]:
    """Send SIGHUP, then the queues the daemon routes once they are `queues` (or time is up)."""
    assert daemon.proc is not None
    daemon.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    shown: list[str] = []
    while time.monotonic() < deadline:
        answer = daemon.call("GET", "/v1/config")[1]
        shown = answer["queues"] if isinstance(answer, dict) else []
        if shown == queues:
            break
        time.sleep(0.05)
    return shown


def test_sighup_puts_the_edited_routing_file_in_force(daemon: Daemon) -> None:
    daemon.config.write_text(edited(daemon.config.read_text(), NO_BILLING))
    assert _hang_up_until(daemon, ["support"]) == ["support"]


def test_sighup_with_a_bad_routing_file_keeps_the_old_one(daemon: Daemon) -> None:
    # Billing gone too: had the bad file been taken, the queues shown would change.
    bad = edited(daemon.config.read_text(), NO_BILLING).replace("15s", "15 parsecs")
    daemon.config.write_text(bad)
    assert daemon.proc is not None
    daemon.proc.send_signal(signal.SIGHUP)
    log = daemon.folder / "routerd.log"
    deadline = time.monotonic() + 10
    while b"routing_file_refused" not in log.read_bytes() and time.monotonic() < deadline:
        time.sleep(0.05)
    refused = b"routing_file_refused" in log.read_bytes()
    answer = daemon.call("GET", "/v1/config")[1]
    assert (refused, isinstance(answer, dict) and answer["queues"]) == (
        True, ["support", "billing"],
    )  # fmt: skip


def test_sighup_while_stopping_does_not_cut_the_shutdown_short(daemon: Daemon) -> None:
    _contact(daemon)
    assert daemon.proc is not None
    daemon.proc.send_signal(signal.SIGTERM)
    time.sleep(0.02)  # inside the shutdown, which stops the private Redis last
    daemon.proc.send_signal(signal.SIGHUP)
    assert daemon.proc.wait(timeout=30) == 0

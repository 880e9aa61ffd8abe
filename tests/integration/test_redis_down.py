"""routerd while its Redis is gone: 503 with Retry-After, nothing half-written, and recovery
without a restart once Redis is back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
import redis.asyncio as aioredis
from aiohttp import WSCloseCode

from bench.load_proc import free_port
from router.keys import Keys
from tests.integration.process_kit import RedisLine, RedisServer, Routerd

KEYS = Keys("test")  # the tenant of the routing file in process_kit
AGENTS = ("a1", "a2")  # two, so that a contact can be offered while the other agent has one
WAIT = 60.0  # generous: a paused Redis costs routerd a socket timeout or two
HTTP_TIMEOUT = aiohttp.ClientTimeout(total=60)
TORN = "torn-contact"
# Contacts posted at once as Redis goes: more than one enqueue batch's worth (service.py).
DOWN_CONTACTS = 40
# Ways for Redis to go: killed (restarted from its AOF), paused (SIGSTOP: it hangs), or the
# line cut right after Redis stored a contact and before routerd committed where it goes.
MODES = ("killed", "paused", "torn")


@dataclass(frozen=True)
class Answer:
    """One HTTP answer."""

    status: int
    headers: dict[str, str]
    body: Any


@dataclass
class Outage:
    """What routerd did before, during and after one Redis outage."""

    mode: str
    torn: Answer | None = None  # in "torn" mode: the contact whose commit was cut in two
    down: list[Answer] = field(default_factory=list)  # contacts posted while Redis was down
    read_down: Answer | None = None  # GET of an interaction while Redis was down
    stream_down: int | None = None  # close code of an agent stream opened while Redis was down
    health_down: int = 0
    after: Answer | None = None  # the first contact once Redis was back
    acked: dict[str, str] = field(default_factory=dict)  # customer -> id, of 2xx answers
    before_view: dict[str, Any] = field(default_factory=dict)  # assigned before the outage
    after_view: dict[str, Any] = field(default_factory=dict)
    stored: dict[str, str] = field(default_factory=dict)  # customer -> id, interaction hashes
    live: set[str] = field(default_factory=set)
    idempotency_keys: set[str] = field(default_factory=set)
    pids: tuple[int, int] = (0, 0)  # routerd's pid before and after
    starts: int = 0  # `routerd ready` lines


async def call(
    http: aiohttp.ClientSession, method: str, url: str, body: Any = None, key: str = ""
) -> Answer:
    """One request; the body decoded when it is JSON."""
    headers = {"Idempotency-Key": key} if key else {}
    async with http.request(method, url, json=body, headers=headers) as r:
        data = await r.json() if r.content_type == "application/json" else await r.text()
        return Answer(r.status, dict(r.headers), data)


async def post_contact(http: aiohttp.ClientSession, url: str, name: str, outage: Outage) -> Answer:
    """A chat contact whose customer and idempotency key are both `name`."""
    body = {"channel": "chat", "customer": name}
    answer = await call(http, "POST", f"{url}/v1/interactions", body, key=name)
    if answer.status in (200, 201):
        outage.acked[name] = answer.body["id"]
    return answer


async def view_when(http: aiohttp.ClientSession, url: str, ix: str, state: str) -> dict[str, Any]:
    """The interaction once it reaches `state` (or as it is at the timeout)."""
    deadline = asyncio.get_running_loop().time() + WAIT
    while True:
        answer = await call(http, "GET", f"{url}/v1/interactions/{ix}")
        if answer.body.get("state") == state or asyncio.get_running_loop().time() > deadline:
            return dict(answer.body)
        await asyncio.sleep(0.05)


async def healthy(http: aiohttp.ClientSession, url: str) -> None:
    """Wait until /healthz answers 200."""
    deadline = asyncio.get_running_loop().time() + WAIT
    while (await call(http, "GET", f"{url}/healthz")).status != 200:
        assert asyncio.get_running_loop().time() < deadline, "routerd did not recover"
        await asyncio.sleep(0.1)


async def assigned_contact(http: aiohttp.ClientSession, url: str, outage: Outage) -> str:
    """Available agents, one working on a contact: work in progress when Redis goes."""
    for agent in AGENTS:
        profile = {"name": agent, "skills": {"en": 3}}
        assert (await call(http, "PUT", f"{url}/v1/agents/{agent}", profile)).status == 200
        status = {"status": "available"}
        assert (await call(http, "POST", f"{url}/v1/agents/{agent}/status", status)).status == 200
    assert (await post_contact(http, url, "before", outage)).status == 201
    offered = await view_when(http, url, outage.acked["before"], "offered")
    accepted = await call(http, "POST", f"{url}/v1/offers/{offered['offer_id']}/accept")
    assert accepted.status == 200, accepted.body
    return outage.acked["before"]


async def while_down(http: aiohttp.ClientSession, url: str, before: str, outage: Outage) -> None:
    """Contacts in flight when routerd meets the outage, one more after, a read, a health check."""
    first = [post_contact(http, url, f"down-{n}", outage) for n in range(DOWN_CONTACTS)]
    health = call(http, "GET", f"{url}/healthz")
    *answers, health_answer = await asyncio.gather(*first, health)
    outage.down += answers
    outage.down.append(await post_contact(http, url, "down-late", outage))
    outage.health_down = health_answer.status
    outage.read_down = await call(http, "GET", f"{url}/v1/interactions/{before}")
    async with http.ws_connect(f"{url}/v1/agents/{AGENTS[1]}/stream") as ws:
        await ws.receive(timeout=WAIT)
        outage.stream_down = ws.close_code


async def read_redis(url: str, outage: Outage) -> None:
    """What Redis holds once it is back: interaction hashes, the live set, idempotency keys."""
    r = aioredis.Redis.from_url(url, decode_responses=True)
    try:
        async for key in r.scan_iter(match=KEYS.interaction("*")):
            customer = str(await r.hget(key, "customer"))
            outage.stored[customer] = key.rpartition(":")[2]
        outage.live = {str(ix) for ix in await r.smembers(KEYS.live)}
        prefix = KEYS.idempotency("")
        keys = [k async for k in r.scan_iter(match=KEYS.idempotency("*"))]
        outage.idempotency_keys = {k.removeprefix(prefix) for k in keys}
    finally:
        await r.aclose()


@dataclass
class Rig:
    """Redis, the line routerd reaches it by (a cuttable proxy, in "torn" mode), routerd."""

    redis: RedisServer
    line: RedisLine | None
    daemon: Routerd

    async def fail(self, http: aiohttp.ClientSession, mode: str, outage: Outage) -> None:
        """Take Redis away the `mode` way."""
        if mode == "killed":
            self.redis.kill()
        elif mode == "paused":
            self.redis.pause()
        else:
            assert self.line is not None
            # The contact's enqueue gets through and is answered; what follows is cut.
            self.line.cut_after(TORN.encode())
            outage.torn = await post_contact(http, self.daemon.url, TORN, outage)

    def restore(self, mode: str) -> None:
        """Bring Redis back: the same data, the same address."""
        if mode == "killed":
            self.redis.start()  # from its AOF
        elif mode == "paused":
            self.redis.resume()
        else:
            assert self.line is not None
            self.line.mend()


async def run_outage(rig: Rig, mode: str) -> Outage:
    """Work in progress, then Redis gone, then back; routerd runs throughout."""
    outage = Outage(mode)
    url = rig.daemon.url
    async with aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as http:
        before = await assigned_contact(http, url, outage)
        pid = rig.daemon.pid
        await rig.fail(http, mode, outage)
        await while_down(http, url, before, outage)
        rig.restore(mode)
        await healthy(http, url)
        outage.after = await post_contact(http, url, "after", outage)
        if outage.after.status == 201:
            outage.after_view = await view_when(http, url, outage.after.body["id"], "offered")
        outage.before_view = await view_when(http, url, before, "assigned")
        outage.pids = (pid, rig.daemon.pid)
    outage.starts = len(rig.daemon.readies())
    await read_redis(rig.redis.url, outage)
    return outage


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=MODES)
async def outage(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Outage]:
    """One outage per way for Redis to go."""
    workdir: Path = tmp_path_factory.mktemp(f"redis-{request.param}")
    redis = RedisServer(workdir / "redis", free_port())
    line = RedisLine(redis.port) if request.param == "torn" else None
    redis.start()
    try:
        if line is not None:
            await line.start()
        url = line.url if line is not None else redis.url
        daemon = Routerd(workdir, free_port(), {"ROUTERD_REDIS_URL": url})
        try:
            await daemon.start()
            result = await run_outage(Rig(redis, line, daemon), request.param)
        finally:
            daemon.close()
    finally:
        if line is not None:
            await line.close()
        redis.close()
    yield result


def test_ingest_answers_503_while_redis_is_down(outage: Outage) -> None:
    assert [a.status for a in outage.down] == [503] * (DOWN_CONTACTS + 1)


def test_503_says_when_to_retry(outage: Outage) -> None:
    assert all(int(a.headers["Retry-After"]) > 0 for a in outage.down)


def test_503_body_is_the_json_error_shape(outage: Outage) -> None:
    for answer in outage.down:
        error = answer.body["error"]
        assert set(error) == {"code", "message", "field"}
        assert error["code"] == "unavailable" and error["message"] and error["field"] is None


def test_healthz_answers_503_while_redis_is_down(outage: Outage) -> None:
    assert outage.health_down == 503


def test_reading_an_interaction_answers_503_while_redis_is_down(outage: Outage) -> None:
    assert outage.read_down is not None
    assert outage.read_down.status == 503 and "Retry-After" in outage.read_down.headers


def test_an_agent_stream_opened_while_redis_is_down_is_told_to_try_again_later(
    outage: Outage,
) -> None:
    assert outage.stream_down == WSCloseCode.TRY_AGAIN_LATER


def test_only_acknowledged_contacts_exist_after_redis_returns(
    request: pytest.FixtureRequest, outage: Outage
) -> None:
    assert outage.stored == outage.acked
    assert {"before", "after"} <= set(outage.acked)


def test_live_set_holds_only_acknowledged_contacts(
    request: pytest.FixtureRequest, outage: Outage
) -> None:
    assert outage.live == set(outage.acked.values())


def test_a_refused_contact_leaves_no_idempotency_key(
    request: pytest.FixtureRequest, outage: Outage
) -> None:
    assert outage.idempotency_keys == set(outage.acked)


def test_ingest_works_again_without_restarting_routerd(outage: Outage) -> None:
    assert outage.after is not None and outage.after.status == 201
    assert outage.pids[0] == outage.pids[1] and outage.starts == 1


def test_contacts_are_offered_once_redis_is_back(outage: Outage) -> None:
    assert outage.after_view["state"] == "offered"
    assert outage.after_view["agent"] in AGENTS


def test_work_in_progress_survives_the_outage(outage: Outage) -> None:
    assert outage.before_view["state"] == "assigned"
    assert outage.before_view["agent"] in AGENTS

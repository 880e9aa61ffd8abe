"""routerd killed with SIGKILL again and again under load loses no contact and doubles none."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
import redis.asyncio as aioredis

from bench.load_proc import free_port
from router.keys import Keys
from router.redis_server import SOCKET
from tests.integration.process_kit import Routerd

pytestmark = pytest.mark.slow

SEED = 1729
ROUNDS = 12
REDIS_KILL_ROUNDS = frozenset({3, 8})  # the embedded Redis dies too and comes back from its AOF
POSTERS = 4
AGENTS = ("a1", "a2", "a3", "a4")
OPEN = frozenset({"offered", "assigned", "wrap_up"})
ENDS = frozenset({"requeued", "done", "abandoned", "expired"})
KEYS = Keys("test")  # the tenant of the routing file in process_kit
DRAIN_TIMEOUT = 60.0
HTTP_TIMEOUT = aiohttp.ClientTimeout(total=15)
# A request the daemon may not have answered: the connection died, or it said "try later".
RETRYABLE = (aiohttp.ClientError, TimeoutError)


@dataclass
class Ledger:
    """What the test's clients were told."""

    acked: dict[str, str] = field(default_factory=dict)  # idempotency key -> interaction id
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)  # (first/repeat, status)
    mismatched: list[str] = field(default_factory=list)  # a key answered with a second id
    unexpected: list[str] = field(default_factory=list)  # answers no client should see
    broken: int = 0  # requests that got no answer (connection lost or refused)


@dataclass
class Snapshot:
    """The tenant's interactions, agents and live set, read from Redis while nothing moves."""

    interactions: dict[str, dict[str, str]]
    agents: dict[str, dict[str, str]]
    live: set[str]


@dataclass
class Chaos:
    """Everything the run observed, for the tests to judge."""

    ledger: Ledger
    readies: list[dict[str, Any]]
    open_work: Snapshot  # after the last restart, before the agents finished their work
    engine_agents: list[dict[str, Any]]  # GET /v1/agents at the same moment
    final: Snapshot
    events: list[dict[str, str]]


# -- clients -------------------------------------------------------------------------------


async def _post(http: aiohttp.ClientSession, url: str, key: str) -> tuple[int, dict[str, Any]]:
    # The key is the customer too: an interaction hash then tells which key created it.
    body = {"channel": "chat", "customer": key}
    headers = {"Idempotency-Key": key}
    async with http.post(f"{url}/v1/interactions", json=body, headers=headers) as r:
        return r.status, await r.json() if r.status < 500 else {}


async def deliver(http: aiohttp.ClientSession, url: str, key: str, ledger: Ledger) -> None:
    """Post one contact until routerd answers 2xx, always with the same key."""
    kind = "repeat" if key in ledger.acked else "first"
    while True:
        try:
            status, data = await _post(http, url, key)
        except RETRYABLE:
            ledger.broken += 1
            await asyncio.sleep(0.05)
            continue
        ledger.statuses[kind, status] += 1
        if status in (200, 201):
            if ledger.acked.setdefault(key, data["id"]) != data["id"]:
                ledger.mismatched.append(f"{key}: {ledger.acked[key]} then {data['id']}")
            return
        if status != 503:
            ledger.unexpected.append(f"POST {key}: {status} {data}")
            if status < 500:
                return
        await asyncio.sleep(0.05)


async def poster(
    http: aiohttp.ClientSession, url: str, n: int, stop: asyncio.Event, ledger: Ledger
) -> None:
    """New contacts one after another; now and then an acknowledged one again."""
    rng = random.Random(SEED + n)
    mine: list[str] = []
    while not stop.is_set():
        if mine and rng.random() < 0.1:
            await deliver(http, url, rng.choice(mine), ledger)
        else:
            mine.append(f"p{n}-{len(mine)}")
            await deliver(http, url, mine[-1], ledger)
        await asyncio.sleep(rng.uniform(0.02, 0.2))


async def _call(
    http: aiohttp.ClientSession, method: str, url: str, ledger: Ledger, body: Any = None
) -> Any:
    """One agent-side request; refusals (404, 409, 503) are normal in a race, 500 is not."""
    async with http.request(method, url, json=body) as r:
        if r.status >= 500 and r.status != 503:
            ledger.unexpected.append(f"{method} {url}: {r.status} {await r.text()}")
        return await r.json() if r.status == 200 else None


async def desk_turn(
    http: aiohttp.ClientSession, url: str, agent: str, finish: bool, ledger: Ledger
) -> None:
    """One turn of an agent's desktop: stay available, take the offer, finish some work."""
    view = await _call(http, "GET", f"{url}/v1/agents/{agent}", ledger)
    if view is None:
        return
    if view["status"] != "available":
        body = {"status": "available"}
        await _call(http, "POST", f"{url}/v1/agents/{agent}/status", ledger, body)
    if view["offer_id"]:
        await _call(http, "POST", f"{url}/v1/offers/{view['offer_id']}/accept", ledger)
    if finish:
        for ix in view["interactions"]:
            await _call(http, "POST", f"{url}/v1/interactions/{ix}/complete", ledger)


async def until_ok(http: aiohttp.ClientSession, url: str, body: Any) -> None:
    """POST until routerd answers 200 (a connection pooled before a kill may be dead)."""
    while True:
        try:
            async with http.post(url, json=body) as r:
                if r.status == 200:
                    return
                assert r.status == 503, f"POST {url}: {r.status} {await r.text()}"
        except RETRYABLE:
            pass
        await asyncio.sleep(0.05)


async def wake_agents(http: aiohttp.ClientSession, url: str) -> None:
    """What desktops do when routerd is back: say they are available, renew the lease."""
    for agent in AGENTS:
        await until_ok(http, f"{url}/v1/agents/{agent}/status", {"status": "available"})
        await until_ok(http, f"{url}/v1/agents/{agent}/heartbeat", None)


async def register_agents(http: aiohttp.ClientSession, url: str) -> None:
    """Four chat agents; each takes up to three chats at once."""
    for agent in AGENTS:
        body = {"name": agent, "skills": {"en": 3}, "groups": ["tier1"]}
        async with http.put(f"{url}/v1/agents/{agent}", json=body) as r:
            assert r.status == 200, await r.text()
    await wake_agents(http, url)


# -- Redis, read while nothing moves ------------------------------------------------------------


async def snapshot(r: aioredis.Redis) -> Snapshot:
    """Every interaction hash, the agents' hashes and the live set."""
    ix_keys = [k async for k in r.scan_iter(match=KEYS.interaction("*"), count=1000)]
    async with r.pipeline(transaction=True) as pipe:
        for key in ix_keys:
            pipe.hgetall(key)
        for agent in AGENTS:
            pipe.hgetall(KEYS.agent(agent))
        pipe.smembers(KEYS.live)
        *hashes, live = await pipe.execute()
    ids = [k.rpartition(":")[2] for k in ix_keys]
    return Snapshot(
        interactions=dict(zip(ids, hashes[: len(ids)], strict=True)),
        agents=dict(zip(AGENTS, hashes[len(ids) :], strict=True)),
        live=set(live),
    )


async def drained(r: aioredis.Redis) -> Snapshot:
    """The snapshot once no interaction is live any more (or, failing that, at the timeout)."""
    deadline = asyncio.get_running_loop().time() + DRAIN_TIMEOUT
    while await r.scard(KEYS.live) and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.1)
    return await snapshot(r)


async def read_events(r: aioredis.Redis) -> list[dict[str, str]]:
    """The whole event stream, oldest first."""
    out: list[dict[str, str]] = []
    start = "-"
    while True:
        # decode_responses: ids and fields come back as str
        chunk: list[tuple[str, dict[str, str]]] = await r.xrange(  # type: ignore[assignment]
            KEYS.events, min=start, max="+", count=5000
        )
        if not chunk:
            return out
        out += [fields for _, fields in chunk]
        start = f"({chunk[-1][0]}"


# -- the run -------------------------------------------------------------------------------


class Desks:
    """Every agent's desktop, started and stopped together."""

    def __init__(self, http: aiohttp.ClientSession, url: str, ledger: Ledger) -> None:
        self.http, self.url, self.ledger = http, url, ledger
        self.finish_rate = 0.3  # per turn: work stays open for a few turns
        self.stop = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        """A desktop per agent, each in its own task."""
        self.stop = asyncio.Event()
        self.tasks = [asyncio.create_task(self._desk(agent)) for agent in AGENTS]

    async def halt(self) -> None:
        """Stop after the current turns."""
        self.stop.set()
        await asyncio.gather(*self.tasks)

    async def _desk(self, agent: str) -> None:
        rng = random.Random(f"{SEED}-{agent}")
        while not self.stop.is_set():
            finish = rng.random() < self.finish_rate
            try:
                await desk_turn(self.http, self.url, agent, finish, self.ledger)
            except RETRYABLE:
                self.ledger.broken += 1
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.02)


async def crash_rounds(daemon: Routerd, http: aiohttp.ClientSession, desks: Desks) -> None:
    """SIGKILL routerd at random moments (and its Redis in some rounds), restarting each time."""
    rng = random.Random(SEED)
    for n in range(ROUNDS):
        if n == ROUNDS - 1:
            desks.finish_rate = 0.0  # the last crash meets agents full of work, kept open
        await asyncio.sleep(rng.uniform(0.3, 2.0))
        if n in REDIS_KILL_ROUNDS:
            daemon.kill_embedded_redis()
            await asyncio.sleep(rng.uniform(0.0, 0.5))  # routerd meets the dead Redis first
        daemon.kill()
        await daemon.start()
        await wake_agents(http, daemon.url)


async def _traffic(daemon: Routerd, http: aiohttp.ClientSession, ledger: Ledger) -> Desks:
    """Contacts and agents busy while routerd is killed; returns with both stopped."""
    await register_agents(http, daemon.url)
    desks = Desks(http, daemon.url, ledger)
    desks.start()
    stop = asyncio.Event()
    posters = [
        asyncio.create_task(poster(http, daemon.url, n, stop, ledger)) for n in range(POSTERS)
    ]
    try:
        await crash_rounds(daemon, http, desks)
    except BaseException:
        # routerd may be down for good: posters would retry forever
        for task in [*posters, *desks.tasks]:
            task.cancel()
        await asyncio.gather(*posters, *desks.tasks, return_exceptions=True)
        raise
    stop.set()
    await asyncio.gather(*posters)
    await desks.halt()
    return desks


async def run_chaos(daemon: Routerd) -> Chaos:
    """Traffic through the crashes, a look at the open work, then agents finish everything."""
    ledger = Ledger()
    async with aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as http:
        await daemon.start()
        desks = await _traffic(daemon, http, ledger)
        r = aioredis.Redis.from_url(f"unix://{daemon.data_dir / SOCKET}", decode_responses=True)
        try:
            open_work = await snapshot(r)
            async with http.get(f"{daemon.url}/v1/agents") as resp:
                engine_agents = await resp.json()
            desks.finish_rate = 1.0
            desks.start()
            final = await drained(r)
            await desks.halt()
            events = await read_events(r)
        finally:
            await r.aclose()
    return Chaos(ledger, daemon.readies(), open_work, engine_agents, final, events)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def chaos(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Chaos]:
    workdir: Path = tmp_path_factory.mktemp("crash")
    # appendfsync always: an acknowledged write is on disk before routerd hears of it.
    daemon = Routerd(workdir, free_port(), {"ROUTERD_APPENDFSYNC": "always"})
    try:
        result = await run_chaos(daemon)
    finally:
        daemon.close()
    yield result


# -- what must hold --------------------------------------------------------------------------


def open_work(snap: Snapshot) -> dict[str, Counter[str]]:
    """agent -> channel -> interactions open with that agent, by the interaction hashes."""
    work: dict[str, Counter[str]] = {a: Counter() for a in AGENTS}
    for f in snap.interactions.values():
        if f["state"] in OPEN:
            work[f["agent"]][f["channel"]] += 1
    return work


def loads(snap: Snapshot) -> dict[str, Counter[str]]:
    """agent -> channel -> the agent hash's `n:<channel>` load counter."""
    return {
        a: Counter({k[2:]: int(v) for k, v in f.items() if k.startswith("n:") and int(v)})
        for a, f in snap.agents.items()
    }


def overlapping_offers(events: list[dict[str, str]]) -> list[str]:
    """Offers of an interaction made while another agent still held it."""
    holder: dict[str, str] = {}
    problems: list[str] = []
    for n, ev in enumerate(events):
        kind, ix = ev["type"], ev.get("id", "")
        if kind == "offered":
            if ix in holder:
                problems.append(f"event {n}: {ix} offered to {ev['agent']}, held by {holder[ix]}")
            holder[ix] = ev["agent"]
        elif kind == "assigned" and holder.get(ix) != ev["agent"]:
            problems.append(f"event {n}: {ix} assigned to {ev['agent']}, held by {holder.get(ix)}")
        elif kind in ENDS:
            holder.pop(ix, None)
    return problems


def test_routerd_came_back_after_every_kill(chaos: Chaos) -> None:
    assert len(chaos.readies) == ROUNDS + 1


def test_embedded_redis_is_adopted_when_routerd_alone_was_killed(chaos: Chaos) -> None:
    # When Redis was killed too, routerd may have started it again before its own kill.
    adopted = [r["adopted"] for n, r in enumerate(chaos.readies[1:]) if n not in REDIS_KILL_ROUNDS]
    assert adopted == [True] * (ROUNDS - len(REDIS_KILL_ROUNDS))


def test_kills_cut_requests_in_flight(chaos: Chaos) -> None:
    assert chaos.ledger.broken > 0


def test_clients_only_ever_got_2xx_or_503(chaos: Chaos) -> None:
    assert chaos.ledger.unexpected == []


def test_every_acknowledged_contact_is_in_redis(chaos: Chaos) -> None:
    stored = chaos.final.interactions
    missing = {k: ix for k, ix in chaos.ledger.acked.items() if ix not in stored}
    assert missing == {}
    assert all(stored[ix]["customer"] == key for key, ix in chaos.ledger.acked.items())


def test_a_repeated_key_answers_its_first_id(chaos: Chaos) -> None:
    assert chaos.ledger.statuses["repeat", 200] > 0
    assert chaos.ledger.mismatched == []


def test_one_interaction_per_idempotency_key(chaos: Chaos) -> None:
    per_key = Counter(f["customer"] for f in chaos.final.interactions.values())
    assert {k: n for k, n in per_key.items() if n > 1} == {}
    assert set(per_key) == set(chaos.ledger.acked)


def test_every_contact_is_routed_to_the_end(chaos: Chaos) -> None:
    states = Counter(f["state"] for f in chaos.final.interactions.values())
    assert states == {"done": len(chaos.ledger.acked)}
    assert chaos.final.live == set()


def test_every_contact_ends_exactly_once(chaos: Chaos) -> None:
    ends = Counter(ev["id"] for ev in chaos.events if ev["type"] in ENDS - {"requeued"})
    assert ends == Counter(set(chaos.ledger.acked.values()))


def test_no_interaction_is_held_by_two_agents_at_once(chaos: Chaos) -> None:
    assert overlapping_offers(chaos.events) == []


def test_load_counters_agree_with_open_work(chaos: Chaos) -> None:
    assert any(open_work(chaos.open_work).values()), "no open work to compare"
    assert loads(chaos.open_work) == open_work(chaos.open_work)


def test_load_counters_are_zero_when_all_is_done(chaos: Chaos) -> None:
    assert loads(chaos.final) == {a: Counter() for a in AGENTS}


def test_restarted_engine_agrees_with_redis(chaos: Chaos) -> None:
    engine = {a["id"]: sorted(a["interactions"]) for a in chaos.engine_agents}
    redis: dict[str, list[str]] = {a: [] for a in AGENTS}
    for ix, f in sorted(chaos.open_work.interactions.items()):
        if f["state"] in OPEN:
            redis[f["agent"]].append(ix)
    assert engine == redis

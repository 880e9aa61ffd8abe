"""HTTP side of the load driver: contact posters (closed and open loop) and agent set-up."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

import aiohttp
import orjson

JSON = {"Content-Type": "application/json"}
TEXTS = (
    "Hi, my order has not arrived yet, can you check where it is?",
    "The app shows an error when I try to log in from my phone",
    "Please send me the invoice for last month again",
    "I would like to change the delivery address of my parcel",
)


def contact_bodies(n: int = 1024) -> list[bytes]:
    """Pre-encoded contacts (one in four classified to billing), so the driver only sends."""
    return [
        orjson.dumps(
            {
                "channel": "chat",
                "customer": f"cust-{i:06d}",
                "text": TEXTS[i % len(TEXTS)],
                "attributes": {"source": "web", "language": "en"},
            }
        )
        for i in range(n)
    ]


BODIES = contact_bodies()


def connector(limit: int) -> aiohttp.TCPConnector:
    """Keep-alive connections to loopback, at most `limit` (0: no limit)."""
    return aiohttp.TCPConnector(limit=limit, force_close=False, ttl_dns_cache=None)


@dataclass
class Tally:
    """Answers of one poster run by status, and the 2xx inside the measured window."""

    statuses: Counter[int] = field(default_factory=Counter)
    in_window: int = 0
    errors: int = 0

    @property
    def failed(self) -> int:
        """Answers that were not 2xx, plus transport errors."""
        return self.errors + sum(n for s, n in self.statuses.items() if not 200 <= s < 300)


async def post(session: aiohttp.ClientSession, url: str, body: bytes) -> tuple[int, bytes]:
    """One POST with a JSON body; its status and raw answer."""
    async with session.post(url, data=body, headers=JSON) as resp:
        return resp.status, await resp.read()


async def counted_post(
    session: aiohttp.ClientSession, url: str, n: int, tally: Tally
) -> int | None:
    """Post contact number `n` and count its answer; its status (None on a transport error)."""
    try:
        status, _ = await post(session, url, BODIES[n % len(BODIES)])
    except aiohttp.ClientError:
        tally.errors += 1
        return None
    tally.statuses[status] += 1
    return status


async def post_n(session: aiohttp.ClientSession, url: str, total: int, concurrency: int) -> Tally:
    """Post exactly `total` contacts with `concurrency` in flight."""
    tally = Tally()
    numbers = iter(range(total))

    async def worker() -> None:
        for n in numbers:
            status = await counted_post(session, url, n, tally)
            tally.in_window += status is not None and 200 <= status < 300

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return tally


def agent_body(n: int) -> bytes:
    """An agent's profile: every agent can take both queues of bench/load.yaml."""
    return orjson.dumps(
        {"name": f"Agent {n}", "skills": {"en": 3, "billing": 3}, "groups": ["tier1"]}
    )


async def for_each(
    items: Iterable[str], concurrency: int, job: Callable[[str], Awaitable[None]]
) -> None:
    """Run the coroutine `job(item)` over `items` with `concurrency` at once."""
    pending = iter(items)

    async def worker() -> None:
        for item in pending:
            await job(item)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def put_agents(
    session: aiohttp.ClientSession, base: str, ids: list[str], status: str | None
) -> None:
    """Create the agents and, when `status` is given, set it; any non-2xx is an error."""
    status_body = orjson.dumps({"status": status})

    async def one(agent_id: str) -> None:
        n = int(agent_id.rpartition("-")[2])
        code, raw = await _put(session, f"{base}/v1/agents/{agent_id}", agent_body(n))
        if code == 200 and status is not None:
            code, raw = await post(session, f"{base}/v1/agents/{agent_id}/status", status_body)
        if code != 200:
            raise RuntimeError(f"agent {agent_id}: {code} {raw[:200]!r}")

    await for_each(ids, 32, one)


async def _put(session: aiohttp.ClientSession, url: str, body: bytes) -> tuple[int, bytes]:
    async with session.put(url, data=body, headers=JSON) as resp:
        return resp.status, await resp.read()

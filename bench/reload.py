"""A routing file put in force while running: python -m bench.reload [--contacts N] [--rounds R].

A router over a private Redis holds N queued contacts (bench.engine's center, no agents); it
is then reloaded R times with the same file. Prints the reload's median, least and most
seconds (what requests wait for), and the process's peak RSS before the first reload and after
the last (a reload holds two engines until the swap).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

import orjson
import uvloop

from bench.engine import CENTER
from bench.figures import QUEUES
from bench.load_proc import peak_rss_mb
from router import events as e
from router.config import load_config_text
from router.redis_client import connect
from router.redis_server import EmbeddedRedis
from router.service import Router
from router.store import Store
from router.transitions import Arg

BATCH = 2000  # contacts handed to the router at once


async def _fill(router: Router, contacts: int) -> None:
    rng = random.Random(1)
    for start in range(0, contacts, BATCH):
        ingests = []
        for n in range(start, min(contacts, start + BATCH)):
            arrival = e.InteractionArrived(f"c{n}", "chat", rng.choice(QUEUES))
            fields: dict[str, Arg] = {"channel": "chat", "customer": f"k{n}", "priority": "",
                      "skills": b"{}", "arrived_at": time.time(), "rule": "bench"}  # fmt: skip
            ingests.append(router.ingest(arrival, fields, None))
        await asyncio.gather(*ingests)


async def measure(contacts: int, rounds: int) -> dict[str, float]:
    """Reload times and peak RSS with `contacts` queued."""
    config = load_config_text(CENTER, "bench-center.yaml")
    with tempfile.TemporaryDirectory() as folder:
        server = EmbeddedRedis(Path(folder))
        server.start()
        client = connect(server.url)
        router = Router(config, Store(client, config))
        try:
            await router.start()
            await _fill(router, contacts)
            before = peak_rss_mb(os.getpid())
            took = []
            for _ in range(rounds):
                began = time.perf_counter()
                done = await router.reload(config)
                took.append(time.perf_counter() - began)
                assert done.interactions == contacts, (done.interactions, contacts)
            await router.stop()
        finally:
            await router.store.close()
            await client.aclose()
            server.stop()
    return {"contacts": contacts, "reload_s_median": statistics.median(took),
            "reload_s_min": min(took), "reload_s_max": max(took),
            "rss_mb_before": before, "rss_mb_after": peak_rss_mb(os.getpid())}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """`python -m bench.reload`."""
    parser = argparse.ArgumentParser(prog="python -m bench.reload", description=__doc__)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    found = uvloop.run(measure(args.contacts, args.rounds))
    if args.json:
        print(orjson.dumps(found).decode())
        return 0
    print(
        f"{args.contacts:,} queued: reload {found['reload_s_median']:.2f} s median of"
        f" {args.rounds} ({found['reload_s_min']:.2f}-{found['reload_s_max']:.2f});"
        f" peak RSS {found['rss_mb_before']:.0f} MB before, {found['rss_mb_after']:.0f} MB after"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

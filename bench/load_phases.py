"""The phases of the daemon load benchmark; each returns its figures as a flat dict."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import os
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

from bench import load_raw
from bench.load_agents import Desks
from bench.load_client import (
    Tally,
    connector,
    post_n,
    put_agents,
)
from bench.load_proc import Ceiling, CpuMeter, Daemon, peak_rss_mb

Figures = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Sizes:
    """How hard and how long each phase pushes."""

    mode: str = "full"
    concurrency: int = 64  # contact posts in flight
    warmup: float = 1.0
    duration: float = 8.0  # measured window of the ingest and lifecycle phases
    agents: int = 500  # desktops of the lifecycle and latency phases
    slots: int = 4  # chats per agent (bench/load.yaml)
    handle: tuple[float, float] = (0.0, 0.05)  # seconds from accept to complete
    latency_duration: float = 6.0
    memory_agents: int = 10_000
    memory_contacts: int = 100_000
    socket: bool = True  # desks act over their WebSocket (False: over HTTP)
    accept: bool = True  # desks accept their offers (False: they only record them)


def meter(daemon: Daemon | None, server: int | None = None) -> CpuMeter:
    """A CPU meter over the daemon and its Redis (or a bare server) and this driver."""
    pids: dict[str, int | None] = {"driver": os.getpid()}
    if daemon is not None:
        pids |= {"daemon": daemon.pid, "redis": daemon.redis_pid}
    if server is not None:
        pids["server"] = server
    return CpuMeter(pids)


async def _closed(
    base: str, s: Sizes, daemon: Daemon | None, server: int | None = None
) -> tuple[Tally, dict[str, float]]:
    url = f"{base}/v1/interactions"
    await load_raw.closed_loop(url, s.concurrency, 0.0, min(s.warmup, 0.5))  # warm up
    cpu = meter(daemon, server)
    tally = await load_raw.closed_loop(url, s.concurrency, s.warmup, s.duration)
    return tally, cpu.read()


async def ceiling(s: Sizes) -> Figures:
    """The bare server driven by the same client: what loopback HTTP costs on this machine."""
    server = Ceiling()
    try:
        await server.start()
        assert server.proc is not None
        tally, cpu = await _closed(server.base, s, None, server.proc.pid)
    finally:
        server.stop()
    return {
        "ceiling_per_s": tally.in_window / s.duration,
        "ceiling_failed": tally.failed,
        "cpu_ceiling": cpu,
    }


async def ingest(daemon: Daemon, s: Sizes) -> Figures:
    """Sustained 2xx contact posts per second with `concurrency` in flight, nobody to take them."""
    tally, cpu = await _closed(daemon.base, s, daemon)
    return {
        "ingest_per_s": tally.in_window / s.duration,
        "ingest_failed": tally.failed,
        "cpu_ingest": cpu,
    }


def agent_ids(n: int) -> list[str]:
    """Agent ids of a phase."""
    return [f"agent-{i}" for i in range(n)]


async def open_desks(daemon: Daemon, s: Sizes) -> Desks:
    """Register the agents, open their streams, make them available."""
    ids = agent_ids(s.agents)
    async with aiohttp.ClientSession(connector=connector(32)) as session:
        await put_agents(session, daemon.base, ids, None)
    desks = Desks(daemon.base, handle=s.handle, socket=s.socket, accept=s.accept)
    try:
        await desks.open(ids)
        await desks.set_status(ids, "available")
    except BaseException:
        await desks.close()
        raise
    # Thousands of desks are objects that live for the whole phase: a full collection that
    # walks them stops every desk for most of a second (0.66-0.82 s with 19,000 seen), and
    # the offers stamped late meanwhile would count as routerd's latency. Frozen, they are
    # left out of collections (reference counting still frees them).
    gc.collect()
    gc.freeze()
    return desks


async def lifecycle(daemon: Daemon, desks: Desks, s: Sizes) -> Figures:
    """Completed ingest -> offer -> accept -> complete per second while posters keep up."""
    async with gated_posters(daemon.base, desks, s):
        await asyncio.sleep(s.warmup)
        before, cpu_meter = desks.counts["complete_ok"], meter(daemon)
        await asyncio.sleep(s.duration)
        done, cpu = desks.counts["complete_ok"] - before, cpu_meter.read()
    await drain(daemon, desks)
    return {"lifecycle_per_s": done / s.duration, "cpu_lifecycle": cpu}


@contextlib.asynccontextmanager
async def gated_posters(base: str, desks: Desks, s: Sizes) -> AsyncIterator[None]:
    """`s.concurrency` connections posting contacts, while the block runs, as long as the
    desks have room: a contact holds a permit until it is completed, so the work in the
    system never passes the agents' room, and a daemon slower than the posters sees a bounded
    queue."""
    permits = asyncio.Semaphore(s.agents * s.slots)
    desks.on_done = permits.release
    numbers = itertools.count()
    url = f"{base}/v1/interactions"
    prebuilt = load_raw.requests(url)
    try:
        async with load_raw.connections(url, s.concurrency) as made:
            posters = [asyncio.create_task(_gated(c, prebuilt, permits, numbers)) for c in made]
            try:
                yield
            finally:
                for task in posters:
                    task.cancel()
                await asyncio.gather(*posters, return_exceptions=True)
    finally:
        desks.on_done = None


async def _gated(
    conn: load_raw.Connection,
    prebuilt: list[bytes],
    permits: asyncio.Semaphore,
    numbers: Iterator[int],
) -> None:
    """Post a contact whenever a permit is free, until cancelled or the connection fails."""
    for n in numbers:
        await permits.acquire()
        try:
            status, _ = await conn.send(prebuilt[n % len(prebuilt)])
        except (ConnectionError, load_raw.ProtocolError):
            permits.release()
            return
        if status != 201:
            permits.release()


async def latency(
    daemon: Daemon, desks: Desks, rate: float, s: Sizes, *, settle: bool = True
) -> Figures:
    """Ingest-to-offer latency with contacts posted at a fixed `rate`; with `settle=False`
    the desks' work in flight is not waited for (desks that hold what they accept)."""
    sent: dict[str, float] = {}
    desks.offers.clear()
    cpu_meter = meter(daemon)
    tally = await load_raw.open_loop(
        f"{daemon.base}/v1/interactions", rate, s.latency_duration, sent.__setitem__
    )
    cpu = cpu_meter.read()
    await drain(daemon, desks, settle=settle)
    waits = sorted(desks.offers[ix] - t for ix, t in sent.items() if ix in desks.offers)
    if not waits:
        raise RuntimeError("no offer reached an agent in the latency phase")
    return {
        "p50_ms": 1000 * waits[len(waits) // 2],
        "p99_ms": 1000 * waits[min(len(waits) - 1, int(len(waits) * 0.99))],
        "max_ms": 1000 * waits[-1],
        "latency_rate_per_s": rate,
        "latency_posted": len(sent),
        "latency_not_offered": len(sent) - len(waits),
        "latency_failed": tally.failed,
        "cpu_latency": cpu,
    }


async def waiting(base: str) -> int:
    """Contacts waiting in every queue."""
    async with aiohttp.ClientSession() as session, session.get(f"{base}/v1/queues") as resp:
        queues = orjson.loads(await resp.read())
    return sum(int(q["waiting"]) for q in queues)


async def drain(
    daemon: Daemon, desks: Desks, timeout: float = 60.0, *, settle: bool = True
) -> None:
    """Wait until no contact waits and (with `settle`) the desks have nothing in flight."""
    deadline = time.perf_counter() + timeout
    while await waiting(daemon.base) and time.perf_counter() < deadline:
        await asyncio.sleep(0.2)
    if settle:
        await desks.settle(max(0.0, deadline - time.perf_counter()))


async def memory(daemon: Daemon, s: Sizes) -> Figures:
    """Peak RSS and Redis bytes per contact with many agents on break and contacts queued."""
    async with aiohttp.ClientSession(connector=connector(s.concurrency)) as session:
        await put_agents(session, daemon.base, agent_ids(s.memory_agents), "break")
        used_before = daemon.redis_used_memory()
        began, cpu_meter = time.perf_counter(), meter(daemon)
        url = f"{daemon.base}/v1/interactions"
        tally = await post_n(session, url, s.memory_contacts, s.concurrency)
        fill_s, cpu = time.perf_counter() - began, cpu_meter.read()
    used_after = daemon.redis_used_memory()
    queued = await waiting(daemon.base)
    return {
        "rss_mb": peak_rss_mb(daemon.pid),
        "redis_bytes_per_contact": (used_after - used_before) / max(1, queued),
        "queued": queued,
        "fill_per_s": tally.in_window / fill_s,
        "fill_failed": tally.failed,
        "cpu_fill": cpu,
    }


async def restart(daemon: Daemon) -> Figures:
    """SIGKILL the daemon with its queue full; time the new process to /healthz 200, then
    check it still routes. Then the same after SIGTERM, when Redis must load its AOF."""
    queued = await waiting(daemon.base)
    daemon.kill()
    restart_s = await daemon.start()
    rss_mb = peak_rss_mb(daemon.pid)
    ready = [line for line in daemon.log_lines() if line.get("event") == "routerd_ready"][-1]
    requeued = await waiting(daemon.base)
    offer_ms = await _routes_one(daemon)
    daemon.stop()
    cold_s = await daemon.start()
    return {
        "restart_s": restart_s,
        "restart_adopted": ready.get("adopted"),
        "restart_daemon_start_s": ready.get("start_s"),
        "restart_queued_before": queued,
        "restart_queued_after": requeued,
        "restart_offer_ms": offer_ms,
        "restart_rss_mb": rss_mb,
        "restart_cold_s": cold_s,
    }


async def _routes_one(daemon: Daemon) -> float:
    """Make one agent on break available; ms until its first offer arrives."""
    desks = Desks(daemon.base, handle=(3600.0, 3600.0))  # accept, then hold the work
    try:
        await desks.open(["agent-0"])
        began = time.perf_counter()
        await desks.set_status(["agent-0"], "available")
        await asyncio.wait_for(desks.first_offer.wait(), 10.0)
        return 1000 * (time.perf_counter() - began)
    finally:
        await desks.close()

"""Daemon load benchmark: python -m bench.load [--json] [--quick].

Starts routerd (embedded Redis, AOF everysec, fresh data dir) as a subprocess and drives it
over loopback from this process (aiohttp client on uvloop): contact ingest, full lifecycles
with simulated agents on WebSockets, ingest-to-offer latency, memory with a full queue, and
restart time; and the same client against a bare aiohttp server for the machine's ceiling.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import math
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
import uvloop

from bench import load_phases as ph
from bench.load_agents import Desks
from bench.load_proc import REPO, Daemon
from router.fdlimit import open_files, raise_open_files

FULL = ph.Sizes()
QUICK = ph.Sizes(
    mode="quick",
    warmup=0.5,
    duration=3.0,
    agents=100,
    latency_duration=3.0,
    memory_agents=1_000,
    memory_contacts=10_000,
)
KEYS = (
    "ingest_per_s",
    "lifecycle_per_s",
    "p50_ms",
    "p99_ms",
    "rss_mb",
    "redis_bytes_per_contact",
    "ceiling_per_s",
    "ratio_to_ceiling",
    "restart_s",
)
# Open files kept for what is not a desk: posting connections, Redis, logs, the interpreter's.
FD_MARGIN = 1_000


def progress(text: str) -> None:
    """A progress line on stderr (stdout carries only the result)."""
    print(f"bench.load: {text}", file=sys.stderr, flush=True)


async def with_daemon(
    root: Path, name: str, work: Callable[[Daemon], Awaitable[ph.Figures]]
) -> ph.Figures:
    """Run `work` against a fresh daemon; stop it (and its Redis) whatever happens."""
    daemon = Daemon(root / name)
    try:
        start_s = await daemon.start()
        progress(f"{name}: daemon pid {daemon.pid} up in {start_s:.2f}s")
        figures = await work(daemon)
        errors = [x for x in daemon.log_lines() if x.get("level") in ("error", "critical")]
        figures[f"log_errors_{name}"] = len(errors)
        if errors:
            progress(f"{name}: {len(errors)} error lines, first: {errors[0]}")
        return figures
    finally:
        daemon.stop()


async def _routing(daemon: Daemon, s: ph.Sizes) -> ph.Figures:
    desks = await ph.open_desks(daemon, s)
    try:
        out = await ph.lifecycle(daemon, desks, s)
        progress(f"lifecycle: {out['lifecycle_per_s']:,.0f}/s with {s.agents} agents")
        low = await _latency(daemon, desks, out["lifecycle_per_s"] / 2, s)
        out |= {f"{k}_half_lifecycle": v for k, v in low.items()}
        out["counts_desks"] = dict(desks.counts)
        return out
    finally:
        await desks.close()


async def _offer_latency(daemon: Daemon, s: ph.Sizes, rate: float) -> ph.Figures:
    """Ingest-to-offer latency at `rate` with an agent free for every contact of the window.

    Each desk records its offer and leaves it open (an agent has one open offer at a time), and
    there are more desks than contacts in the window: the load on routerd is the ingest alone,
    and the figure is its routing latency, not a queue behind busy agents.
    """
    window = min(s.latency_duration, desk_room() / (rate * 1.2))
    room = math.ceil(rate * window * 1.2)
    hold = dataclasses.replace(s, agents=max(room, s.agents), accept=False, latency_duration=window)
    desks = await ph.open_desks(daemon, hold)
    try:
        out = await ph.latency(daemon, desks, rate, hold, settle=False)
        progress(f"latency at {rate:,.0f}/s with {hold.agents} agents for {window:.1f} s: "
                 f"p50 {out['p50_ms']:.1f} ms p99 {out['p99_ms']:.1f} ms")  # fmt: skip
        return out | {"latency_agents": hold.agents, "latency_window_s": round(window, 2)}
    finally:
        await desks.close()


def desk_room() -> int:
    """Desks this driver and the daemon can both hold open, one socket each on either side."""
    return open_files() - FD_MARGIN


async def _latency(daemon: Daemon, desks: Desks, rate: float, s: ph.Sizes) -> ph.Figures:
    out = await ph.latency(daemon, desks, rate, s)
    progress(f"latency at {rate:,.0f}/s: p50 {out['p50_ms']:.1f} ms p99 {out['p99_ms']:.1f} ms")
    return out


async def _memory_restart(daemon: Daemon, s: ph.Sizes) -> ph.Figures:
    out = await ph.memory(daemon, s)
    progress(f"memory: rss {out['rss_mb']:.0f} MB, redis {out['redis_bytes_per_contact']:.0f} B")
    out |= await ph.restart(daemon)
    progress(f"restart: {out['restart_s']:.2f}s (cold {out['restart_cold_s']:.2f}s)")
    return out


def revision() -> str:
    """The commit measured, with `+dirty` when router/ or native/ has uncommitted changes."""
    try:
        head = _git("rev-parse", "--short", "HEAD").strip()
        dirty = _git("status", "--porcelain", "--", "router", "native").strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head}+dirty" if dirty else head


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout


async def measure(s: ph.Sizes) -> dict[str, Any]:
    """Every phase, in its own fresh daemon; the figures as one flat dict."""
    root = Path(tempfile.mkdtemp(prefix="routerd-load-"))
    out: dict[str, Any] = {"mode": s.mode, "sizes": dataclasses.asdict(s), "rev": revision()}
    try:
        out |= await ph.ceiling(s)
        progress(f"ceiling: {out['ceiling_per_s']:,.0f}/s")
        out |= await with_daemon(root, "ingest", lambda d: ph.ingest(d, s))
        progress(f"ingest: {out['ingest_per_s']:,.0f}/s")
        half = out["ingest_per_s"] / 2
        out |= await with_daemon(root, "routing", lambda d: _routing(d, s))
        out |= await with_daemon(root, "latency", lambda d: _offer_latency(d, s, half))
        out |= await with_daemon(root, "memory", lambda d: _memory_restart(d, s))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    out["ratio_to_ceiling"] = out["ingest_per_s"] / out["ceiling_per_s"]
    return out


GOALS = (
    ("ingest_per_s", "contact ingest", "{:,.0f}/s", ">= 8,000/s"),
    ("ratio_to_ceiling", "  of the bare-server ceiling", "{:.2f}", ">= 0.35"),
    ("ceiling_per_s", "  ceiling (bare aiohttp + uvloop)", "{:,.0f}/s", ""),
    ("lifecycle_per_s", "full lifecycles", "{:,.0f}/s", ">= 2,500/s"),
    ("p50_ms", "ingest-to-offer p50", "{:.1f} ms", ""),
    ("p99_ms", "ingest-to-offer p99", "{:.1f} ms", "<= 25 ms"),
    ("rss_mb", "daemon peak RSS", "{:.0f} MB", "<= 400 MB"),
    ("redis_bytes_per_contact", "Redis per queued contact", "{:,.0f} B", "<= 1,536 B"),
    ("restart_s", "restart to /healthz 200", "{:.2f} s", "<= 3 s"),
)


def report(out: dict[str, Any]) -> str:
    """The figures for people, with the goals beside them."""
    s = out["sizes"]
    lines = [
        f"routerd {out['rev']} load benchmark ({out['mode']}: {s['concurrency']} posts in flight, "
        f"{s['agents']} agents, {s['memory_contacts']:,} queued contacts with "
        f"{s['memory_agents']:,} agents on break)",
    ]
    if out["mode"] != "full":
        lines.append(f"  {out['mode'].upper()} run: smaller sizes than the goals assume")
    for key, label, fmt, goal in GOALS:
        lines.append(f"  {label:<34} {fmt.format(out[key]):>12}   {goal}")
    lines += _latency_lines(out)
    lines += [
        f"  restart after SIGKILL (Redis adopted): queued {out['restart_queued_before']:,} -> "
        f"{out['restart_queued_after']:,}, routerd's own start_s {out['restart_daemon_start_s']},",
        f"    first offer {out['restart_offer_ms']:.0f} ms after /healthz, peak RSS "
        f"{out['restart_rss_mb']:.0f} MB; after SIGTERM (AOF load) {out['restart_cold_s']:.2f} s",
    ]
    for phase in ("ceiling", "ingest", "lifecycle", "latency", "fill"):
        cpu = out[f"cpu_{phase}"]
        lines.append(f"  cores used in {phase:<9} " + "  ".join(f"{k} {v}" for k, v in cpu.items()))
    return "\n".join(lines)


def _latency_lines(out: dict[str, Any]) -> list[str]:
    lines = [
        f"  p50/p99 above at {out['latency_rate_per_s']:,.0f}/s (half of ingest), "
        f"{out['latency_agents']:,} agents leaving their offer open; "
        f"{out['latency_not_offered']} of {out['latency_posted']} posts saw no offer"
    ]
    lines.append(
        f"  at {out['latency_rate_per_s_half_lifecycle']:,.0f}/s (half of lifecycle): "
        f"p50 {out['p50_ms_half_lifecycle']:.1f} ms, p99 {out['p99_ms_half_lifecycle']:.1f} ms"
    )
    return lines


async def _main(s: ph.Sizes) -> dict[str, Any]:
    # SIGTERM cancels the run like Ctrl-C does, so the finally blocks stop the daemons.
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    return await measure(s)


def run(s: ph.Sizes) -> dict[str, Any]:
    """Run the benchmark with the given sizes on a uvloop event loop."""
    raise_open_files()  # the daemons inherit it: the latency phase holds a desk per contact
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(_main(s))


def main(argv: list[str] | None = None) -> int:
    """`python -m bench.load [--json] [--quick]`."""
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__)
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.add_argument("--quick", action="store_true", help="small sizes, a short run")
    args = parser.parse_args(argv)
    try:
        out = run(QUICK if args.quick else FULL)
    except (asyncio.CancelledError, KeyboardInterrupt):
        progress("interrupted; the daemons are stopped")
        return 130
    missing = [k for k in KEYS if k not in out]
    if missing:
        raise RuntimeError(f"figures missing: {missing}")
    print(orjson.dumps(out).decode() if args.json else report(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Instructions an ingested contact costs the daemon: `python -m bench.instructions`.

The daemon (or, with `--ceiling`, the bare aiohttp server of bench.load) runs under valgrind's
callgrind with counting off. After a warm-up the count is switched on, contacts are posted over
64 keep-alive connections, and the count is dumped: its total over the contacts posted. With
`--alone`, contacts are posted one at a time to 1,000 desks that hold their offers: each is a
turn of the routing loop of its own, offered at once. With `--lifecycle`, 100 desks accept
each offer and complete it at once while 16 posters keep them busy, and the count is over the
lifecycles completed in 20 seconds. Unlike time, the count
does not move with the VM's speed (repeat runs agree to 0.1%, for lifecycles to about 1%), so
it shows a change of 1%; it leaves out the operating system's work, and the instructions are
not all as dear. Needs valgrind on PATH (not a dependency of routerd).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import uvloop

from bench import load_phases, load_raw
from bench.load_proc import Ceiling, Daemon

CONCURRENCY = 64
WARMUP = 500
ALONE = load_phases.Sizes(agents=1_000, accept=False)  # desks for --alone, holding offers
ALONE_WARMUP = 250
ALONE_CONTACTS = 600  # with the warm-up, fewer than the desks: each is offered at once
DESKS = load_phases.Sizes(agents=100, concurrency=16, handle=(0.0, 0.0))
LIFECYCLE_WARMUP = 5.0  # every desk has had work
LIFECYCLE_SECONDS = 20.0


def callgrind(out: Path) -> tuple[str, ...]:
    """The launcher prefix: callgrind, counting off until told, dumps named after `out`."""
    return (
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        f"--callgrind-out-file={out}",
        f"--log-file={out}.log",  # valgrind's own lines, kept off the terminal
    )


def _launcher(work: Path, module: str) -> tuple[str, ...]:
    """`python -m module` under callgrind, its dump in `work`."""
    return (*callgrind(work / "callgrind.out"), sys.executable, "-m", module)


def _counted(work: Path) -> int:
    """The instructions of the one dump taken in `work`."""
    return summary(work / "callgrind.out.1")


def summary(dump: Path) -> int:
    """The instructions a callgrind dump counted."""
    for line in dump.read_text().splitlines():
        if line.startswith("summary:"):
            return int(line.split()[1])
    raise ValueError(f"{dump}: no summary line")


async def post(url: str, total: int, concurrency: int = CONCURRENCY) -> int:
    """Post `total` contacts over `concurrency` connections; how many were answered 2xx."""
    prebuilt = load_raw.requests(url)
    numbers = iter(range(total))
    ok = 0
    async with load_raw.connections(url, concurrency) as made:

        async def worker(conn: load_raw.Connection) -> None:
            nonlocal ok
            for n in numbers:
                status, _ = await conn.send(prebuilt[n % len(prebuilt)])
                ok += 200 <= status < 300

        await asyncio.gather(*(worker(conn) for conn in made))
    return ok


async def count(contacts: int, ceiling: bool, alone: bool, work: Path) -> tuple[int, int]:
    """(instructions counted, contacts answered 2xx) for one server."""
    server: Daemon | Ceiling
    if ceiling:
        server = Ceiling(launcher=_launcher(work, "bench.load_ceiling"))
    else:
        server = Daemon(work / "data", launcher=_launcher(work, "router"))
    await server.start()
    try:
        async with contextlib.AsyncExitStack() as stack:
            if alone:
                assert isinstance(server, Daemon)
                desks = await load_phases.open_desks(server, ALONE)
                stack.push_async_callback(desks.close)
            url = f"{server.base}/v1/interactions"
            concurrency = 1 if alone else CONCURRENCY
            await post(url, ALONE_WARMUP if alone else WARMUP, concurrency)
            await switch(server, "-i", "on")
            ok = await post(url, contacts, concurrency)
            await switch(server, "-d")
    finally:
        server.stop()
    return _counted(work), ok


async def count_lifecycles(work: Path) -> tuple[int, int]:
    """(instructions counted, lifecycles completed) for the daemon."""
    daemon = Daemon(work / "data", launcher=_launcher(work, "router"))
    await daemon.start()
    try:
        desks = await load_phases.open_desks(daemon, DESKS)
        try:
            async with load_phases.gated_posters(daemon.base, desks, DESKS):
                await asyncio.sleep(LIFECYCLE_WARMUP)
                await switch(daemon, "-i", "on")
                before = desks.counts["complete_ok"]
                await asyncio.sleep(LIFECYCLE_SECONDS)
                await switch(daemon, "-d")
                done = desks.counts["complete_ok"] - before
        finally:
            await desks.close()
    finally:
        daemon.stop()
    return _counted(work), done


async def switch(server: Daemon | Ceiling, *args: str) -> None:
    """callgrind_control on the server: `-i on` starts counting, `-d` dumps the count."""
    assert server.proc is not None
    command = ["callgrind_control", *args, str(server.proc.pid)]
    # On a thread: the desks and posters in this process go on meanwhile.
    await asyncio.to_thread(subprocess.run, command, check=True, capture_output=True)


def main(argv: list[str] | None = None) -> int:
    """`python -m bench.instructions [--contacts N] [--ceiling | --alone | --lifecycle]`."""
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__)
    parser.add_argument("--contacts", type=int, help="contacts counted (2,000; 600 alone)")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--ceiling", action="store_true", help="the bare aiohttp server")
    which.add_argument("--alone", action="store_true", help="one at a time, offered at once")
    which.add_argument("--lifecycle", action="store_true", help="whole lifecycles, 100 desks")
    args = parser.parse_args(argv)
    if args.alone and args.contacts and args.contacts + ALONE_WARMUP > ALONE.agents:
        parser.error(f"--alone offers each contact at once: at most {ALONE.agents - ALONE_WARMUP}")
    if shutil.which("valgrind") is None:
        print("bench.instructions needs valgrind on PATH", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="routerd-instructions-"))
    try:
        if args.lifecycle:
            total, n = uvloop.run(count_lifecycles(work))
            what = f"a lifecycle ({n:,} completed)"
        else:
            contacts = args.contacts or (ALONE_CONTACTS if args.alone else 2000)
            total, n = uvloop.run(count(contacts, args.ceiling, args.alone, work))
            what = f"a contact ({n:,} contacts answered 2xx{', one at a time' * args.alone})"
        if n == 0:
            print("bench.instructions: nothing was done to count", file=sys.stderr)
            return 1
        who = "the bare aiohttp server" if args.ceiling else "routerd"
        print(f"{who}: {total / n:,.0f} instructions {what}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

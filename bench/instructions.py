"""Instructions an ingested contact costs the daemon: `python -m bench.instructions`.

The daemon (or, with `--ceiling`, the bare aiohttp server of bench.load) runs under valgrind's
callgrind with counting off. After a warm-up the count is switched on, contacts are posted over
64 keep-alive connections, and the count is dumped: its total over the contacts posted. Unlike
time, the count does not move with the VM's speed (repeat runs agree to 0.1%), so it shows a
change of 1%; it leaves out the operating system's work, and the instructions are not all as
dear. Needs valgrind on PATH (not a dependency of routerd).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import uvloop

from bench import load_raw
from bench.load_proc import Ceiling, Daemon

CONCURRENCY = 64
WARMUP = 500


def callgrind(out: Path) -> tuple[str, ...]:
    """The launcher prefix: callgrind, counting off until told, dumps named after `out`."""
    return (
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        f"--callgrind-out-file={out}",
        f"--log-file={out}.log",  # valgrind's own lines, kept off the terminal
    )


def summary(dump: Path) -> int:
    """The instructions a callgrind dump counted."""
    for line in dump.read_text().splitlines():
        if line.startswith("summary:"):
            return int(line.split()[1])
    raise ValueError(f"{dump}: no summary line")


async def post(url: str, total: int) -> int:
    """Post `total` contacts over CONCURRENCY connections; how many were answered 2xx."""
    prebuilt = load_raw.requests(url)
    numbers = iter(range(total))
    ok = 0
    async with load_raw.connections(url, CONCURRENCY) as made:

        async def worker(conn: load_raw.Connection) -> None:
            nonlocal ok
            for n in numbers:
                status, _ = await conn.send(prebuilt[n % len(prebuilt)])
                ok += 200 <= status < 300

        await asyncio.gather(*(worker(conn) for conn in made))
    return ok


async def count(contacts: int, ceiling: bool, work: Path) -> tuple[int, int]:
    """(instructions counted, contacts answered 2xx) for one server."""
    prefix = callgrind(work / "callgrind.out")
    server: Daemon | Ceiling
    if ceiling:
        server = Ceiling(launcher=(*prefix, sys.executable, "-m", "bench.load_ceiling"))
    else:
        server = Daemon(work / "data", launcher=(*prefix, sys.executable, "-m", "router"))
    await server.start()
    assert server.proc is not None
    pid = str(server.proc.pid)
    try:
        url = f"{server.base}/v1/interactions"
        await post(url, WARMUP)
        subprocess.run(["callgrind_control", "-i", "on", pid], check=True, capture_output=True)
        ok = await post(url, contacts)
        subprocess.run(["callgrind_control", "-d", pid], check=True, capture_output=True)
    finally:
        server.stop()
    return summary(work / "callgrind.out.1"), ok


def main(argv: list[str] | None = None) -> int:
    """`python -m bench.instructions [--contacts N] [--ceiling]`."""
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__)
    parser.add_argument("--contacts", type=int, default=2000, help="contacts counted")
    parser.add_argument("--ceiling", action="store_true", help="the bare aiohttp server")
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        print("bench.instructions needs valgrind on PATH", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="routerd-instructions-"))
    try:
        total, ok = uvloop.run(count(args.contacts, args.ceiling, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    who = "the bare aiohttp server" if args.ceiling else "routerd"
    print(f"{who}: {total / ok:,.0f} instructions a contact ({ok:,} contacts answered 2xx)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

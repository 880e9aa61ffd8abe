"""CPU per lifecycle at a given load: python -m bench.load_rates [RATE ...].

One daemon (embedded Redis, fresh data folder) and bench.load's 500 desks, which accept every
offer and complete it after a short handle time. Contacts are posted at each fixed rate in
turn, as in bench.load's latency phase, and for each rate it prints the daemon's and Redis's
CPU, the daemon's microseconds of CPU per lifecycle and the ingest-to-offer p50 and p99.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import shutil
import sys
import tempfile
from pathlib import Path

import uvloop

from bench import load_phases as ph
from bench.load import FULL, with_daemon
from bench.load_proc import Daemon
from router.fdlimit import raise_open_files

RATES = (500.0, 1000.0, 1500.0, 2000.0, 2500.0)


async def _rates(daemon: Daemon, rates: list[float], s: ph.Sizes) -> ph.Figures:
    desks = await ph.open_desks(daemon, s)
    try:
        warm = dataclasses.replace(s, latency_duration=1.0)
        await ph.latency(daemon, desks, rates[0], warm)
        for rate in rates:
            out = await ph.latency(daemon, desks, rate, s)
            cpu = out["cpu_latency"]
            print(
                f"{rate:7,.0f}/s  daemon {cpu['daemon']:.2f} core, redis {cpu['redis']:.2f}: "
                f"{1e6 * cpu['daemon'] / rate:6,.0f} us a lifecycle; "
                f"p50 {out['p50_ms']:.1f} ms, p99 {out['p99_ms']:.1f} ms",
                flush=True,
            )
    finally:
        await desks.close()
    return {}


def main(argv: list[str] | None = None) -> int:
    """`python -m bench.load_rates [RATE ...]`."""
    parser = argparse.ArgumentParser(prog="python -m bench.load_rates", description=__doc__)
    parser.add_argument("rates", nargs="*", type=float, default=list(RATES), help="contacts/s")
    args = parser.parse_args(argv)
    raise_open_files()
    root = Path(tempfile.mkdtemp(prefix="routerd-rates-"))
    try:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(with_daemon(root, "rates", lambda d: _rates(d, args.rates, FULL)))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What waking costs on this machine: python -m bench.echo_rates [RATE ...].

A bare uvloop echo server in a child process, sent one 64-byte message at a time at each fixed
rate in turn over loopback TCP; prints the server's microseconds of CPU per message. Between
messages the server sleeps in epoll, so at low rates each message pays for waking it.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from typing import cast

import uvloop

from bench.load_proc import REPO, cpu_seconds, free_port

RATES = (500.0, 2000.0, 5000.0, 20000.0)
SECONDS = 4.0
MESSAGE = b"x" * 64


class _Echo(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.WriteTransport, transport)  # uvloop's is no subclass

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


async def _serve(port: int) -> None:
    server = await asyncio.get_running_loop().create_server(_Echo, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


class _Sink(asyncio.Protocol):
    def data_received(self, data: bytes) -> None:
        pass


async def _connect(port: int) -> asyncio.Transport:
    loop = asyncio.get_running_loop()
    for _ in range(100):  # the child takes a moment to listen
        try:
            transport, _ = await loop.create_connection(_Sink, "127.0.0.1", port)
            return transport
        except OSError:
            await asyncio.sleep(0.05)
    raise RuntimeError(f"the echo server never listened on port {port}")


async def _drive(port: int, pid: int, rates: list[float]) -> None:
    transport = await _connect(port)
    for rate in rates:
        n = int(rate * SECONDS)
        cpu0, t0 = cpu_seconds(pid), time.perf_counter()
        for i in range(n):
            pause = t0 + i / rate - time.perf_counter()
            if pause > 0:
                await asyncio.sleep(pause)
            transport.write(MESSAGE)
        await asyncio.sleep(0.2)  # the last echoes
        used = cpu_seconds(pid) - cpu0
        wall = time.perf_counter() - t0
        print(f"{rate:8,.0f}/s  server {used / wall:.2f} core: {1e6 * used / n:6.1f} us a message")
    transport.close()


def main(argv: list[str] | None = None) -> int:
    """`python -m bench.echo_rates [RATE ...]`."""
    parser = argparse.ArgumentParser(prog="python -m bench.echo_rates", description=__doc__)
    parser.add_argument("rates", nargs="*", type=float, default=list(RATES), help="messages/s")
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve is not None:
        uvloop.run(_serve(args.serve))
        return 0
    port = free_port()
    serve = [sys.executable, "-m", "bench.echo_rates", "--serve", str(port)]
    child = subprocess.Popen(serve, cwd=REPO)
    try:
        uvloop.run(_drive(port, child.pid, args.rates))
    finally:
        child.kill()
        child.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())

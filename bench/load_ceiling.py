"""The ceiling of the load benchmark: a bare aiohttp + uvloop server that takes contacts."""

from __future__ import annotations

import asyncio
import itertools
import signal
import sys

import orjson
import uvloop
from aiohttp import web

_ids = itertools.count()


async def create(request: web.Request) -> web.Response:
    """Read and decode the JSON body, answer 201 with a small JSON, as the daemon does."""
    data = orjson.loads(await request.read())
    body = orjson.dumps({"id": f"{next(_ids):032x}", "state": "queued", "queue": "support"})
    assert isinstance(data, dict)
    return web.Response(body=body, status=201, content_type="application/json")


async def healthz(request: web.Request) -> web.Response:
    """Readiness for the driver."""
    return web.Response(body=b'{"ok":true}', content_type="application/json")


async def serve(port: int) -> None:
    """Serve until SIGTERM."""
    app = web.Application()
    app.router.add_post("/v1/interactions", create)
    app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, reuse_address=True).start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main() -> None:
    """`python -m bench.load_ceiling PORT`."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(serve(int(sys.argv[1])))


if __name__ == "__main__":
    main()

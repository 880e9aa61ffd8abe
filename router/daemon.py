"""`routerd run`: Redis (embedded unless a URL is given), the router, and the API, until SIGTERM."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import math
import signal
import time
from dataclasses import dataclass

import redis.asyncio as aioredis
import structlog
from aiohttp import web

from router.api.app import make_app
from router.api.context import Context
from router.api.hub import Hub
from router.auth import Auth, load_keys
from router.config.model import RoutingConfig
from router.errors import ConfigError, ReloadRefused, Unavailable
from router.fdlimit import raise_open_files
from router.gc_policy import GcPolicy
from router.redis_client import connect
from router.redis_server import EmbeddedRedis, EmbeddedRedisError
from router.reload import reload_file
from router.service import REDIS_DOWN, Router
from router.settings import Settings
from router.store import Store

log = structlog.get_logger("routerd")

SHUTDOWN_TIMEOUT = 10.0
# How long a Redis call may hang before the request gets its 503 (a paused or partitioned
# Redis); scripts take microseconds and a turn's pipeline milliseconds.
REDIS_TIMEOUT = 3.0
# How often routerd looks whether its private Redis still runs: a dead one pauses routing.
WATCH_INTERVAL = 1.0
# A private Redis that cannot be started again (a damaged AOF, a full disk) is tried again
# less and less often, up to this far apart, rather than every second for good.
MAX_WATCH_PAUSE = 30.0


@dataclass(slots=True)
class Daemon:
    """The running parts, in the order they start; they stop in reverse."""

    config: RoutingConfig
    settings: Settings
    embedded: EmbeddedRedis | None = None
    client: aioredis.Redis | None = None
    router: Router | None = None
    runner: web.AppRunner | None = None
    gc: GcPolicy | None = None
    watch: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Redis, rebuild, then listen."""
        began = time.monotonic()
        before, after = raise_open_files()
        if after != before:
            log.info("open_files_limit_raised", before=before, after=after)
        url = self.settings.redis_url
        if url is None:
            if self.embedded is None:  # else spawned already, while routerd was importing
                embedded = EmbeddedRedis(self.settings.data_dir, self.settings.appendfsync)
                embedded.spawn()  # first: refused, it is not this routerd's to stop
                self.embedded = embedded
            await asyncio.to_thread(self.embedded.wait_ready)
            url = self.embedded.url
        self.client = connect(url, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=2)
        if self.embedded is not None:
            self.watch = asyncio.create_task(_watch(self.embedded))
        hub = Hub()
        self.router = Router(self.config, Store(self.client, self.config), hub)
        await self._start_router()
        # In a context of its own: a collection may start inside any request, whose bound log
        # keys (an agent's, an interaction's) must not stick to the collector's log lines.
        self.gc = GcPolicy(
            functools.partial(asyncio.get_running_loop().call_soon, context=contextvars.Context())
        )
        self.gc.install()
        keys = load_keys(self.settings.api_keys) if self.settings.api_keys else None
        app = make_app(Context(self.router, Auth(keys), hub))
        self.runner = web.AppRunner(
            app,
            handle_signals=False,
            access_log=None,
            shutdown_timeout=SHUTDOWN_TIMEOUT,
            # aiohttp rounds socket timers longer than 5 s up to a whole second so that they
            # share wake-ups: thousands of agent streams then send their keepalive pings in one
            # burst each second, and routing waits behind it. Unrounded, each stream's ping falls
            # due 20 s after its own last frame.
            timeout_ceil_threshold=math.inf,
        )
        await self.runner.setup()
        site = web.TCPSite(self.runner, self.settings.host, self.settings.port, reuse_address=True)
        await site.start()
        if keys is None:
            log.warning(
                "auth_disabled",
                reason="no API keys configured (ROUTERD_API_KEYS): every caller is admin",
            )
        log.info(
            "routerd_ready",
            listen=f"http://{self.settings.host}:{self.settings.port}",
            redis="embedded" if self.embedded else "external",
            adopted=bool(self.embedded and self.embedded.adopted),
            interactions=len(self.router.engine.tasks),
            agents=len(self.router.engine.roster),
            start_s=round(time.monotonic() - began, 3),
        )

    async def reload(self) -> None:
        """Read the routing file again and route by it; if refused, the old one stays."""
        if self.router is None or not self.router.ready:
            log.warning("routing_file_not_reloaded", reason="not routing: starting, or no Redis")
            return
        try:
            await reload_file(self.router)
        except (ConfigError, ReloadRefused):
            pass  # logged by the reload; the file in force stays
        except (Unavailable, *REDIS_DOWN) as err:
            log.error("routing_file_not_reloaded", reason=str(err))
        except Exception:  # a signal's task has no caller to tell: a bug is logged here
            log.exception("routing_file_not_reloaded", reason="failed")

    async def _start_router(self) -> None:
        assert self.router is not None
        while True:
            try:
                await self.router.start()
                return
            except REDIS_DOWN as err:
                log.error("redis_unreachable_at_start", error=str(err), then="retry")
            # Not in the except: the error's frames hold the engine half read.
            await asyncio.sleep(1.0)

    async def stop(self) -> None:
        """Stop listening, finish requests in flight, drain the router, close Redis."""
        if self.embedded is not None:
            self.embedded.interrupt()  # a restart under way no longer waits for a long AOF load
        if self.watch is not None:
            # Before the private Redis is stopped below: a restart under way finishes first, so
            # that the server it starts is the one stopped, not one left running.
            self.watch.cancel()
            await asyncio.gather(self.watch, return_exceptions=True)
        if self.runner is not None:
            await self.runner.cleanup()
        if self.router is not None:
            await self.router.stop()
            await self.router.store.close()
        if self.client is not None:
            await self.client.aclose()
        if self.embedded is not None:
            await asyncio.to_thread(self.embedded.stop)
        if self.gc is not None:
            self.gc.uninstall()
        log.info("routerd_stopped")


async def _watch(embedded: EmbeddedRedis) -> None:
    """Start the private Redis again whenever its process has died (routing meanwhile pauses
    as in any outage, and goes on once it answers)."""
    pause = WATCH_INTERVAL
    while True:
        await asyncio.sleep(pause)
        if embedded.alive():
            pause = WATCH_INTERVAL
            continue
        log.error("embedded_redis_exited", then="restart")
        restart = asyncio.ensure_future(asyncio.to_thread(embedded.restart))
        try:
            await asyncio.shield(restart)
        except asyncio.CancelledError:
            await asyncio.gather(restart, return_exceptions=True)  # a thread is not cancelled
            raise
        except EmbeddedRedisError as err:
            pause = min(2 * pause, MAX_WATCH_PAUSE)
            log.error(
                "embedded_redis_restart_failed", error=str(err), then="retry", retry_in_s=pause
            )
        else:
            pause = WATCH_INTERVAL
            log.info("embedded_redis_restarted", pid=embedded.pid)


async def serve(
    config: RoutingConfig, settings: Settings, embedded: EmbeddedRedis | None = None
) -> None:
    """Run until SIGTERM or SIGINT, then shut down cleanly; `embedded` is a private Redis
    spawned already (see `EmbeddedRedis.spawn`), which the daemon then owns."""
    daemon = Daemon(config, settings, embedded=embedded)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    reloads: set[asyncio.Task[None]] = set()
    loop.add_signal_handler(signal.SIGHUP, _on_hangup, daemon, reloads)
    try:
        if await _started(daemon, stop):
            await stop.wait()
            log.info("routerd_stopping", detail="no new work; finishing requests in flight")
        else:
            log.info("routerd_stopping", detail="stopped before it was ready")
    finally:
        # SIGHUP stays handled while stopping (a reload is then refused): its default action
        # would kill routerd halfway through its shutdown.
        await daemon.stop()


async def _started(daemon: Daemon, stop: asyncio.Event) -> bool:
    """Start the daemon unless `stop` is set first (a start can wait long: for a Redis that is
    unreachable, or loading a big AOF); whether it started."""
    starting = asyncio.create_task(daemon.start(), name="routerd-start")
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait((starting, stopping), return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if not starting.done():
        starting.cancel()
        await asyncio.gather(starting, return_exceptions=True)
        return False
    starting.result()  # its error, if it failed
    return True


def _on_hangup(daemon: Daemon, running: set[asyncio.Task[None]]) -> None:
    """SIGHUP: read the routing file again (its outcome is logged by the reload)."""
    task = asyncio.create_task(daemon.reload(), name="routerd-reload")
    running.add(task)  # the loop keeps only a weak reference to a task
    task.add_done_callback(running.discard)

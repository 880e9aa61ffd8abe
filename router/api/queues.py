"""`/v1/queues`, `/healthz` and `/metrics`: live figures for people and for Prometheus."""

from __future__ import annotations

from collections.abc import Iterator

from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from redis.exceptions import RedisError

from router.api.context import context, reply
from router.errors import NotFound
from router.service import Router


async def list_all(request: web.Request) -> web.Response:
    """Every queue's live figures."""
    router = context(request).router
    return reply(router.stats.queue_figures(router.engine, router.clock()))


async def show(request: web.Request) -> web.Response:
    """One queue's live figures."""
    router = context(request).router
    name = request.match_info["name"]
    if name not in router.config.queues:
        raise NotFound(f"queue {name!r} not found")
    return reply(router.stats.queue_figures(router.engine, router.clock(), [name])[0])


async def healthz(request: web.Request) -> web.Response:
    """200 when Redis answers and the engine is routing, else 503."""
    router = context(request).router
    try:
        redis_ok = bool(await router.store.client.ping())
    except RedisError:
        redis_ok = False
    ok = redis_ok and router.ready
    return reply({"ok": ok, "redis": redis_ok, "engine": router.ready}, 200 if ok else 503)


class RouterCollector(Collector):
    """Reads the figures at scrape time, so routing pays nothing for metrics."""

    def __init__(self, router: Router) -> None:
        self.router = router

    def collect(self) -> Iterator[Metric]:
        """The metric families of one scrape."""
        r = self.router
        yield CounterMetricFamily(
            "routerd_interactions_ingested", "Contacts made durable", value=r.stats.ingested
        )
        decided = CounterMetricFamily("routerd_decisions", "Committed decisions", labels=["kind"])
        for kind, n in sorted(r.stats.decisions.items()):
            decided.add_metric([kind], n)
        yield decided
        yield from self._queues()
        agents = GaugeMetricFamily("routerd_agents", "Agents by status", labels=["status"])
        for status, n in sorted(r.stats.agent_figures(r.engine).items()):
            agents.add_metric([status], n)
        yield agents
        yield GaugeMetricFamily("routerd_ready", "1 while routing", value=float(r.ready))

    def _queues(self) -> Iterator[Metric]:
        r = self.router
        now = r.clock()
        waiting = GaugeMetricFamily("routerd_queue_waiting", "Waiting contacts", labels=["queue"])
        oldest = GaugeMetricFamily(
            "routerd_queue_longest_wait_seconds", "Longest current wait", labels=["queue"]
        )
        counts = {
            k: CounterMetricFamily(f"routerd_queue_{k}", f"Contacts {k}", labels=["queue"])
            for k in ("offered", "offers", "answered", "abandoned", "expired")
        }
        for f in r.stats.queue_figures(r.engine, now):
            name = f["name"]
            waiting.add_metric([name], f["waiting"])
            oldest.add_metric([name], f["longest_wait"])
            for k, family in counts.items():
                family.add_metric([name], f[k])
        yield waiting
        yield oldest
        yield from counts.values()


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text exposition."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RouterCollector(context(request).router))
    return web.Response(
        body=generate_latest(registry), headers={"Content-Type": "text/plain; version=0.0.4"}
    )

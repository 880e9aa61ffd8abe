"""A real Redis for the integration tests: the embedded server, or --redis-url; flushed per test.
The tests run on uvloop, the event loop routerd runs on: its transports are not asyncio's."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from pathlib import Path

import pytest
import redis.asyncio as aioredis
import structlog
import uvloop

from router.log import configure as configure_logging
from router.redis_client import connect
from router.redis_server import EmbeddedRedis
from tests.integration.api_kit import Api, start_api, stop_api


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], uvloop.Loop]]:
    """Every async test here on uvloop."""
    return {"uvloop": uvloop.new_event_loop}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--redis-url", default=None, help="use this Redis instead of starting one")


@pytest.fixture(scope="session")
def redis_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    given: str | None = request.config.getoption("--redis-url")
    if given:
        yield given
        return
    server = EmbeddedRedis(Path(tmp_path_factory.mktemp("redis")))
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    conn = connect(redis_url)
    await conn.flushdb()
    try:
        yield conn
    finally:
        await conn.aclose()


@pytest.fixture(scope="session", autouse=True)
def quiet_logs() -> None:
    """Routine daemon logs would drown the test output; warnings and errors still show."""
    configure_logging({"ROUTERD_LOG_LEVEL": "warning", "ROUTERD_LOG_FORMAT": "console"})
    # A cached logger keeps the configuration of its first use; tests that read the log
    # configure it afresh (see `logged` in test_api_logs.py), which cached loggers would ignore.
    structlog.configure(cache_logger_on_first_use=False)


@pytest.fixture
async def api(client: aioredis.Redis) -> AsyncIterator[Api]:
    """A routerd API on a loopback port over the test Redis (no API keys)."""
    running = await start_api(client)
    try:
        yield running
    finally:
        await stop_api(running)

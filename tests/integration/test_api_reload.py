"""A new routing file while routerd runs: put in force whole, or refused with the old one kept."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
import weakref
from collections.abc import AsyncIterator, Callable, Sized
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
import structlog
from redis.exceptions import ConnectionError as RedisConnectionError

from router import events as e
from router import service
from router.config import load_config_text
from router.engine import Engine
from router.errors import ReloadRefused, Unavailable
from router.gc_policy import GcPolicy
from router.rebuild import rebuild
from router.reload import reload_file
from router.transitions import Arg
from tests.integration.api_kit import (
    BILLING_BY_VOICE_ONLY,
    BILLING_IN_ENGLISH,
    FIFTEEN_S,
    NO_BILLING,
    ROUTING,
    Api,
    edited,
    next_frame,
    start_api,
    stop_api,
)


@pytest.fixture
async def api(client: aioredis.Redis, tmp_path: Path) -> AsyncIterator[Api]:
    started = await start_api(client, routing_file=tmp_path / "routing.yaml")
    try:
        yield started
    finally:
        await stop_api(started)


def rewrite(api: Api, edits: list[tuple[str, str]]) -> None:
    """Change the routing file the API was started from."""
    path = Path(api.router.config.source)
    path.write_text(edited(path.read_text(), edits))


async def test_a_reload_routes_the_waiting_contacts_by_the_new_file(api: Api) -> None:
    await api.agent("a1", {"en": 3})
    ws = await api.stream("a1")
    ix = await api.contact(channel="chat", text="my invoice")  # billing: no one has the skill
    rewrite(api, BILLING_IN_ENGLISH)
    assert (await api.call("POST", "/v1/config/reload"))[0] == 200
    assert (await next_frame(ws, "offer"))["interaction_id"] == ix


async def test_a_reload_classifies_new_contacts_by_the_new_rules(api: Api) -> None:
    await api.contact(channel="chat", text="my invoice")  # classified by the old rules
    rewrite(api, [*BILLING_IN_ENGLISH, ("keywords: [invoice]", "keywords: [refund]")])
    await api.call("POST", "/v1/config/reload")
    ix = await api.contact(channel="chat", text="my invoice")
    assert (await api.call("GET", f"/v1/interactions/{ix}"))[1]["queue"] == "support"


async def test_the_config_shows_the_file_in_force(api: Api) -> None:
    rewrite(api, NO_BILLING)
    await api.call("POST", "/v1/config/reload")
    status, shown = await api.call("GET", "/v1/config")
    assert (status, shown["queues"], shown["skills"]) == (200, ["support"], ["en"])


async def test_an_invalid_file_is_refused_with_its_file_line_and_reason(api: Api) -> None:
    rewrite(api, [("    skills: {en: 1}\n", "    skills: {french: 1}\n")])  # line 15
    status, answer = await api.call("POST", "/v1/config/reload")
    (problem,) = answer["error"]["problems"]
    source = api.router.config.source
    assert (status, answer["error"]["code"], problem["file"], problem["line"]) == (
        422, "invalid_routing_file", source, 15,
    )  # fmt: skip


async def test_after_a_refused_file_the_old_one_routes_on(api: Api) -> None:
    rewrite(api, [("    skills: {en: 1}\n", "    skills: {french: 1}\n")])
    await api.call("POST", "/v1/config/reload")
    await api.agent("a1", {"en": 3})
    ws = await api.stream("a1")
    ix = await api.contact(channel="chat", text="hello")
    assert (await next_frame(ws, "offer"))["interaction_id"] == ix


async def test_a_missing_file_is_refused_and_named(api: Api) -> None:
    Path(api.router.config.source).unlink()
    status, answer = await api.call("POST", "/v1/config/reload")
    assert (status, answer["error"]["problems"][0]["file"]) == (422, api.router.config.source)


async def test_a_file_that_would_strand_a_waiting_contact_is_refused(api: Api) -> None:
    ix = await api.contact(channel="chat", text="my invoice")  # waits in billing
    rewrite(api, BILLING_BY_VOICE_ONLY)
    status, answer = await api.call("POST", "/v1/config/reload")
    assert (status, answer["error"]["code"], ix in answer["error"]["message"]) == (
        409, "conflict", True,
    )  # fmt: skip


async def test_a_contact_a_refused_file_would_strand_is_still_routed(api: Api) -> None:
    ix = await api.contact(channel="chat", text="my invoice")
    rewrite(api, BILLING_BY_VOICE_ONLY)
    await api.call("POST", "/v1/config/reload")
    await api.agent("b1", {"billing": 2}, status="break")
    ws = await api.stream("b1")
    await api.call("POST", "/v1/agents/b1/status", {"status": "available"})
    assert (await next_frame(ws, "offer"))["interaction_id"] == ix


async def test_another_tenant_is_refused(api: Api) -> None:
    rewrite(api, [("tenant: api", "tenant: other")])
    status, answer = await api.call("POST", "/v1/config/reload")
    assert (status, answer["error"]["message"].startswith("tenant:")) == (409, True)


async def test_an_agents_skill_the_new_file_lacks_is_named_and_set_aside(api: Api) -> None:
    await api.agent("a1", {"en": 3, "billing": 2})
    rewrite(api, NO_BILLING)
    status, answer = await api.call("POST", "/v1/config/reload")
    skills = (await api.call("GET", "/v1/agents/a1"))[1]["skills"]
    assert (status, answer["trimmed"], skills) == (200, {"a1": ["skills.billing"]}, {"en": 3})


async def test_a_file_that_gives_the_skill_back_gives_it_back_to_the_agent(api: Api) -> None:
    await api.agent("a1", {"en": 3, "billing": 2})
    text = Path(api.router.config.source).read_text()
    rewrite(api, NO_BILLING)
    await api.call("POST", "/v1/config/reload")
    Path(api.router.config.source).write_text(text)
    await api.call("POST", "/v1/config/reload")
    assert (await api.call("GET", "/v1/agents/a1"))[1]["skills"] == {"en": 3, "billing": 2}


async def test_a_changed_listen_address_waits_for_a_restart(api: Api) -> None:
    rewrite(api, [("tenant: api\n", "tenant: api\nserver: {listen: '127.0.0.1:9999'}\n")])
    answer = (await api.call("POST", "/v1/config/reload"))[1]
    assert answer["restart_needed"] == ["server.listen"]


async def test_an_offer_made_before_the_reload_can_be_accepted_after_it(api: Api) -> None:
    await api.agent("a1", {"en": 3})
    ws = await api.stream("a1")
    await api.contact(channel="chat", text="hello")
    offer = await next_frame(ws, "offer")
    rewrite(api, NO_BILLING)
    await api.call("POST", "/v1/config/reload")
    assert (await api.call("POST", f"/v1/offers/{offer['offer_id']}/accept"))[0] == 200


async def test_a_contact_classified_by_the_old_file_into_a_gone_queue_is_not_stored(
    api: Api,
) -> None:
    new = load_config_text(edited(ROUTING, [*FIFTEEN_S, *NO_BILLING]), "new")
    arrival = e.InteractionArrived("late", "chat", "billing", None, {})
    reload = asyncio.create_task(api.router.reload(new))
    await asyncio.sleep(0)  # the reload is queued first: the loop takes it before the contact
    ingest = asyncio.create_task(api.router.ingest(arrival, {"channel": "chat"}, None))
    await reload
    with pytest.raises(Unavailable):
        await ingest
    assert await api.redis.exists(api.router.store.keys.interaction("late")) == 0


async def test_a_reload_of_another_tenant_changes_nothing_in_the_router(api: Api) -> None:
    other = load_config_text(edited(ROUTING, [*FIFTEEN_S, ("tenant: api", "tenant: other")]), "o")
    with pytest.raises(ReloadRefused):
        await api.router.reload(other)
    assert api.router.config.tenant == "api"


def _arrival(ident: str) -> e.InteractionArrived:
    return e.InteractionArrived(ident, "chat", "support", None, {})


FIELDS: dict[str, Arg] = {"channel": "chat", "customer": "c", "arrived_at": 0.0}


async def test_contacts_on_their_way_to_redis_at_a_reload_are_answered_and_routed(
    api: Api,
) -> None:
    new = load_config_text(edited(ROUTING, [*FIFTEEN_S, *BILLING_IN_ENGLISH]), "new")
    ingests = [asyncio.create_task(api.router.ingest(_arrival(f"c{n}"), FIELDS, None))
               for n in range(300)]  # fmt: skip
    await asyncio.sleep(0)  # the contacts are handed in first
    await api.router.reload(new)
    answers = await asyncio.gather(*ingests)
    routed = [a.id for a in answers if a.id in api.router.engine.tasks]
    assert len(routed) == 300


async def test_a_redis_failure_while_a_reload_routes_the_contacts_on_the_wire_answers_them(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, real = api.router.store, api.router.store.outcomes
    failing = asyncio.Event()

    async def outcomes(sent: Any, rerun: Any = None) -> Any:
        if rerun is not None and failing.is_set():  # an intake batch, while the reload drains
            raise RedisConnectionError("Redis went away")
        return await real(sent, rerun=rerun)

    monkeypatch.setattr(store, "outcomes", outcomes)
    await api.redis.client_pause(300, all=False)  # holds the enqueues on the wire
    ingests = [asyncio.create_task(api.router.ingest(_arrival(f"c{n}"), FIELDS, None))
               for n in range(3)]  # fmt: skip
    await asyncio.sleep(0.05)  # the loop has sent them
    failing.set()
    new = load_config_text(edited(ROUTING, FIFTEEN_S), "new")
    with contextlib.suppress(RedisConnectionError, Unavailable):
        await api.router.reload(new)
    failing.clear()
    _, pending = await asyncio.wait(ingests, timeout=5)
    assert not pending


async def test_a_reload_whose_caller_went_away_ends_without_a_failed_turn(
    api: Api,
) -> None:
    new = load_config_text(edited(ROUTING, [*FIFTEEN_S, *NO_BILLING]), "new")
    reload = asyncio.create_task(api.router.reload(new))
    await asyncio.sleep(0)  # queued
    reload.cancel()
    with structlog.testing.capture_logs() as logs:
        await api.router.submit(e.Tick())  # a turn after the reload's
    assert [line["event"] for line in logs if line["log_level"] == "error"] == []


async def test_the_engine_a_reload_replaced_is_freed_with_a_wallboard_open(api: Api) -> None:
    await api.agent("a1", {"en": 3})
    api.router.stats.wallboard(api.router.engine, api.router.clock(), 1.0)
    old = weakref.ref(api.router.engine)
    await api.router.reload(load_config_text(edited(ROUTING, FIFTEEN_S), "same"))
    assert old() is None


def built_engines(monkeypatch: pytest.MonkeyPatch) -> list[weakref.ref[Engine]]:
    """Weak references to every engine the router builds from now on."""
    built: list[weakref.ref[Engine]] = []

    def build(*args: Any) -> Engine:
        engine = Engine(*args)
        built.append(weakref.ref(engine))
        return engine

    monkeypatch.setattr(service, "Engine", build)
    return built


async def test_the_engine_a_refused_file_was_read_into_is_freed(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    await api.contact(channel="chat", text="my invoice")  # waits in billing
    rewrite(api, BILLING_BY_VOICE_ONLY)
    built = built_engines(monkeypatch)
    with pytest.raises(ReloadRefused) as refused:  # held, as a caller answering it holds it
        await reload_file(api.router)
    gc.collect()
    assert [ref() is None for ref in built] == [True], refused


def rebuilds_failing(
    monkeypatch: pytest.MonkeyPatch, error: Callable[[], Exception]
) -> list[Callable[[], Exception]]:
    """Make every rebuild from Redis raise a new `error()` until the returned list is emptied."""
    failing = [error]

    async def read(engine: Engine, store: Any) -> Any:
        if failing:
            raise failing[0]()
        return await rebuild(engine, store)

    monkeypatch.setattr(service, "rebuild", read)
    return failing


async def test_an_engine_half_read_when_redis_failed_is_freed_during_the_outage(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = built_engines(monkeypatch)
    failing = rebuilds_failing(monkeypatch, lambda: RedisConnectionError("gone mid-read"))
    with pytest.raises(RedisConnectionError) as failed:  # held, as a caller answering it holds it
        await reload_file(api.router)
    await asyncio.wait_for(until_len(built, 2), 5)  # the reload's read, the outage's first
    await asyncio.sleep(0.05)  # that try has failed: the outage waits to try again
    gc.collect()
    freed = [ref() is None for ref in built]
    failing.clear()
    await asyncio.wait_for(until_ready(api), 5)
    assert all(freed), (freed, failed)


async def test_engines_half_read_are_freed_under_the_daemons_collection_policy(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = GcPolicy(asyncio.get_running_loop().call_soon)
    policy.install()
    try:
        built = built_engines(monkeypatch)
        failing = rebuilds_failing(monkeypatch, lambda: RedisConnectionError("gone mid-read"))
        with pytest.raises(RedisConnectionError):
            await reload_file(api.router)
        await asyncio.wait_for(until_len(built, 3), 5)  # and two of the outage's tries
        await asyncio.sleep(0.05)
        kept = [ref() is not None for ref in built]  # no collection of the test's own
        failing.clear()
        await asyncio.wait_for(until_ready(api), 5)
    finally:
        policy.uninstall()
    assert not any(kept), kept


async def paused_by_a_bug(api: Api, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """A reload whose rebuild fails for a bug, and so does the resync's after it: routing
    pauses until the returned list is emptied."""
    failing = rebuilds_failing(monkeypatch, lambda: ValueError("a bug in the rebuild"))
    with pytest.raises(ValueError):
        await reload_file(api.router)
    await asyncio.sleep(0.2)
    return failing


async def test_a_rebuild_that_fails_for_a_bug_pauses_routing(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    failing = await paused_by_a_bug(api, monkeypatch)
    status, _ = await api.call("POST", "/v1/interactions", {"channel": "chat", "customer": "c"})
    failing.clear()
    await asyncio.wait_for(until_ready(api), 10)
    assert status == 503


async def test_a_rebuild_that_fails_for_a_bug_is_tried_again(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    (await paused_by_a_bug(api, monkeypatch)).clear()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(until_ready(api), 10)
    assert api.router.ready


async def test_a_resync_that_finds_redis_down_waits_for_redis_as_an_outage_does(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[Exception] = []

    def error() -> Exception:  # the reload's rebuild meets a bug, the resync's Redis gone
        made.append(RedisConnectionError("gone") if made else ValueError("a bug"))
        return made[-1]

    failing = rebuilds_failing(monkeypatch, error)
    with structlog.testing.capture_logs() as logs:
        with pytest.raises(ValueError):
            await reload_file(api.router)
        await asyncio.wait_for(until_len(made, 3), 5)  # the reload's, resync's, outage's
        failing.clear()
        await asyncio.wait_for(until_ready(api), 5)
    paused = [x["reason"] for x in logs if x["event"] == "routing_paused"]
    assert paused == ["redis_unreachable"], paused


async def until_ready(api: Api) -> None:
    """Until routing goes on."""
    while not api.router.ready:
        await asyncio.sleep(0.05)


async def until_len(grown: Sized, n: int) -> None:
    """Until `grown` (engines built, rebuilds tried) holds `n`."""
    while len(grown) < n:
        await asyncio.sleep(0.01)


async def test_a_rebuild_that_keeps_failing_for_a_bug_is_tried_less_and_less_often(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    tries: list[float] = []

    async def read(engine: Engine, store: Any) -> Any:
        tries.append(time.monotonic())
        raise ValueError("a bug in the rebuild")

    monkeypatch.setattr(service, "rebuild", read)
    with pytest.raises(ValueError):
        await reload_file(api.router)
    await until_len(tries, 5)  # the reload's, the resync's, then three of the pause's
    monkeypatch.undo()
    await asyncio.wait_for(until_ready(api), 10)
    first, second = tries[3] - tries[2], tries[4] - tries[3]
    assert second > 1.5 * first, tries


async def test_a_reload_queued_when_routing_pauses_is_answered_503(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    failing = rebuilds_failing(monkeypatch, lambda: RedisConnectionError("gone mid-read"))
    config = load_config_text(edited(ROUTING, FIFTEEN_S), "new")
    first = asyncio.create_task(api.router.reload(config))
    queued = asyncio.create_task(api.router.reload(config))  # behind it, while routing is ready
    await asyncio.wait({first}, timeout=5)
    await asyncio.wait({queued}, timeout=1)
    answer = queued.exception() if queued.done() else None
    failing.clear()
    await asyncio.wait_for(until_ready(api), 5)
    await asyncio.gather(first, queued, return_exceptions=True)
    assert isinstance(answer, Unavailable), answer

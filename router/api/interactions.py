"""`/v1/interactions`: contacts in, their state and explanation out, and their ends."""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Any

import msgspec
import orjson
import structlog
from aiohttp import web

from router import decisions as d
from router import events as e
from router.api.bodies import InteractionIn, TransferIn
from router.api.context import Context, body, context, reply
from router.errors import ClassificationError, IdempotencyKeyReused, InvalidInput, NotFound
from router.log import debug_enabled
from router.tasks import check_arrival
from router.transitions import Arg

log = structlog.get_logger("routerd.api")

MAX_IDEMPOTENCY_KEY = 200


def _arrival(ctx: Context, data: InteractionIn, ix: str) -> tuple[e.InteractionArrived, str]:
    """Where the contact goes, validated in full before anything is written."""
    config = ctx.router.config
    if data.channel not in config.channels:
        raise InvalidInput("channel", f"unknown channel {data.channel!r}")
    if data.queue is not None:
        if data.queue not in config.queues:
            raise InvalidInput("queue", f"unknown queue {data.queue!r}")
        queue, priority, skills, rule = data.queue, data.priority, dict(data.skills), "explicit"
    else:
        try:
            found = ctx.classify().classify(data.channel, data.attributes, data.text or "")
        except ClassificationError as err:
            raise InvalidInput("channel", str(err)) from None
        skills = {**found.skills, **data.skills}
        priority = found.priority if data.priority is None else data.priority
        queue, rule = found.queue, found.rule
    arrival = e.InteractionArrived(ix, data.channel, queue, priority, skills, data.session)
    check_arrival(config, arrival)  # raises InvalidInput on a bad skill, level or priority
    return arrival, rule


async def create(request: web.Request) -> web.Response:
    """Take in a contact: 201 once it is durable in Redis; a repeated key answers 200."""
    data = await body(request, InteractionIn)
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 0 < len(key) <= MAX_IDEMPOTENCY_KEY:
        raise InvalidInput("Idempotency-Key", f"must be 1..{MAX_IDEMPOTENCY_KEY} characters")
    ix = secrets.token_hex(16)  # 128 random bits; a third of what uuid4().hex costs
    ctx = context(request)
    arrival, rule = _arrival(ctx, data, ix)
    fields: dict[str, Arg] = {
        "channel": data.channel,
        "customer": data.customer,
        "priority": "" if arrival.priority is None else arrival.priority,
        "skills": orjson.dumps(arrival.skills),
        "arrived_at": time.time(),
        "rule": rule,
    }
    if data.text is not None:
        fields["text"] = data.text
    if data.session is not None:
        fields["session"] = data.session
    if data.attributes:
        fields["attributes"] = orjson.dumps(data.attributes)
    if key is not None:  # what a repeat of the key must match
        fields["request"] = _fingerprint(data)
    result = await ctx.router.ingest(arrival, fields, key)
    if debug_enabled():
        log.debug("interaction_ingested", interaction_id=result.id, created=result.created,
                  queue=arrival.queue)  # fmt: skip
    if result.created:
        return reply({"id": result.id, "state": "queued", "queue": arrival.queue}, 201)
    first = await _fields(request, result.id)
    if first.get("request", fields["request"]) != fields["request"]:
        raise IdempotencyKeyReused
    return reply(_view(result.id, first), 200)


def _fingerprint(data: InteractionIn) -> str:
    """The request, as decoded (whitespace and key order aside), in 24 hex digits."""
    canonical = msgspec.json.encode(data, order="sorted")
    return hashlib.blake2b(canonical, digest_size=12).hexdigest()


async def show(request: web.Request) -> web.Response:
    """An interaction's state, timestamps and the explanation of its routing."""
    ix = request.match_info["id"]
    return reply(_view(ix, await _fields(request, ix)))


async def _fields(request: web.Request, ix: str) -> dict[str, str]:
    """The interaction's stored fields; NotFound if there are none."""
    f = await context(request).router.store.interaction(ix)
    if not f:
        raise NotFound(f"interaction {ix!r} not found")
    return f


def _view(ix: str, f: dict[str, str]) -> dict[str, Any]:
    numbers = ("arrived_at", "answered_at", "completed_at", "ended_at", "wrap_until")
    return {
        "id": ix,
        "state": f["state"],
        "queue": f.get("queue"),
        "channel": f.get("channel"),
        "customer": f.get("customer"),
        "priority": int(f["priority"]) if f.get("priority") else None,
        "agent": f.get("agent") or None,
        "offer_id": f.get("offer") or None,
        "reason": f.get("reason"),
        "rule": f.get("rule"),
        "text": f.get("text"),
        "attributes": orjson.loads(f.get("attributes", "{}")),
        **{k: float(f[k]) if f.get(k) else None for k in numbers},
        "explain": orjson.loads(f["explain"]) if f.get("explain") else None,
    }


async def owner(request: web.Request) -> str | None:
    """The agent an interaction is (or was) with: "" for none, None if there is no such one."""
    ix = request.match_info["id"]
    router = context(request).router
    task = router.engine.tasks.get(ix)
    if task is not None:
        return task.agent or ""
    f = await router.store.interaction(ix)
    return f.get("agent", "") if f else None


async def complete(request: web.Request) -> web.Response:
    """The agent finished: wrap-up starts, or the interaction is done."""
    ix = request.match_info["id"]
    out = await context(request).router.submit(e.InteractionCompleted(ix))
    state = _state_after(out, ix, "done")
    log.info("interaction_completed", state=state)  # the route bound interaction_id
    return reply({"id": ix, "state": state})


async def abandon(request: web.Request) -> web.Response:
    """The customer left before the end."""
    ix = request.match_info["id"]
    await context(request).router.submit(e.InteractionAbandoned(ix))
    log.info("interaction_abandoned")
    return reply({"id": ix, "state": "abandoned"})


async def transfer(request: web.Request) -> web.Response:
    """Move the interaction to another queue (a new leg) or straight to one agent."""
    ix = request.match_info["id"]
    data = await body(request, TransferIn)
    router = context(request).router
    if data.agent is not None and data.agent not in router.engine.roster:
        raise InvalidInput("agent", f"unknown agent {data.agent!r}")
    await router.submit(e.InteractionTransferred(ix, data.queue, data.agent))
    log.info("interaction_transferred", queue=data.queue, to_agent=data.agent)
    task = router.engine.tasks.get(ix)
    state = task.state.value if task is not None else "queued"
    queue = task.queue if task is not None else data.queue
    return reply({"id": ix, "state": state, "queue": queue, "agent": task and task.agent})


def _state_after(out: list[d.Decision], ix: str, default: str) -> str:
    for dec in out:
        if isinstance(dec, d.WrapUpStarted) and dec.interaction_id == ix:
            return "wrap_up"
        if isinstance(dec, d.Finished) and dec.interaction_id == ix:
            return dec.state
    return default

"""WebSockets: the agent desktop's line (`?since=N` replays what it missed) and the wallboard's."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import orjson
from aiohttp import WSCloseCode, WSMsgType, web

from router.api import desk
from router.api.context import context, principal
from router.api.hub import Line, with_seq
from router.commits import offer_payload
from router.errors import InvalidInput, NotFound
from router.model import TaskState
from router.service import REDIS_DOWN, Router


def _since(request: web.Request) -> int | None:
    raw = request.query.get("since")
    if raw is None:
        return None
    # ASCII digits only (str.isdigit takes "²"), and few enough for a stream id's 64 bits.
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 18):
        raise InvalidInput("since", "must be a sequence number (an integer 0..10^18-1)")
    return int(raw)


def _socket() -> web.WebSocketResponse:
    # No permessage-deflate, though browsers ask for it: the frames are small JSON events, and
    # each compressed connection keeps a deflate state of about 90 KB (1,000 desks: 181 MB
    # against 91 MB), which 10,000 desks would multiply past routerd's whole footprint.
    return web.WebSocketResponse(heartbeat=20.0, compress=False)


async def agent_stream(request: web.Request) -> web.WebSocketResponse:
    """Offers, assignments and status changes for one agent, each with its seq."""
    agent_id = request.match_info["id"]
    ctx = context(request)
    router = ctx.router
    agent = router.engine.roster.get(agent_id) if agent_id in router.engine.roster else None
    if agent is None:
        raise NotFound(f"agent {agent_id!r} not found")
    since = _since(request)
    ws = _socket()
    await ws.prepare(request)
    line = Line(ws, request.transport)
    ctx.hub.join(agent_id, line)
    try:
        try:
            last = await _greet(request, ws, agent_id, since)
        except REDIS_DOWN:
            # The connection is a WebSocket now, past any HTTP answer: the desk is told to come
            # back later, and asks with ?since for what it missed.
            await ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"redis is unreachable")
            return ws
        line.start(after=last)
        acts = principal(request).role in ("agent", "admin")  # supervisors only watch
        await _drain(ws, desk.handler(router, agent_id, line, may_act=acts))
    finally:
        ctx.hub.leave(agent_id, line)
        line.close()
        _release(request, ws)
    return ws


async def _greet(
    request: web.Request, ws: web.WebSocketResponse, agent_id: str, since: int | None
) -> int:
    """Send what a desk gets first (the events after `since`, else the hello); the last seq."""
    router = context(request).router
    if since is not None:
        events = await router.store.missed_events(agent_id, since)
        if events is not None:
            for seq, payload in events:
                await ws.send_str(with_seq(seq, payload).decode())
            return events[-1][0] if events else since
    # A fresh desk, or one the kept events cannot bring up to date: it starts again from the
    # hello, and knows to by getting a hello where it asked for events.
    hello = await _hello(request, agent_id)
    await ws.send_str(orjson.dumps(hello).decode())
    last = hello["seq"]
    assert isinstance(last, int)
    return last


def _release(request: web.Request, ws: web.WebSocketResponse) -> None:
    """Break the reference cycles aiohttp (3.14) leaves on a finished WebSocket connection.

    Only the cycle collector frees a cycle, and routerd's GC policy has frozen a long-lived
    desk's connection, so it would wait for the next compaction: some fifty objects per desk.
    One cycle is the heartbeat's data callback, kept on the connection after it is lost
    (connection -> callback -> response -> writer -> connection); the other is the error of
    answering a close on a socket already gone, kept on the response with its traceback,
    whose frames hold the response.
    """
    protocol = request.protocol
    if protocol is not None:
        protocol._data_received_cb = None
    error: BaseException | None = ws.exception()
    while error is not None:
        error.__traceback__ = None
        error = error.__context__


async def _hello(request: web.Request, agent_id: str) -> dict[str, object]:
    """A fresh connection's first frame: the agent's last seq (to resume from with `?since`),
    its status, the interactions it holds and its open offer: all a desk starting over needs."""
    router = context(request).router
    seq = await router.store.client.hget(router.store.keys.agent(agent_id), "seq")
    agent = router.engine.agent(agent_id)
    hello: dict[str, object] = {
        "type": "hello",
        "seq": int(seq or 0),
        "status": agent.status.value,
        "interactions": _held(router, sorted(agent.active)),
    }
    offer = router.engine.offers.get(agent.offer or "")
    held = router.committer.held.get(offer.task) if offer is not None else None
    if offer is not None and held is not None:
        payload = offer_payload(offer.id, offer.task, offer.deadline, held)
        hello["offer"] = orjson.loads(payload)
    return hello


def _held(router: Router, ids: list[str]) -> list[dict[str, object]]:
    """The interactions an agent works on (assigned, or in wrap-up until `until`)."""
    held: list[dict[str, object]] = []
    for ix in ids:
        task = router.engine.tasks.get(ix)
        if task is None or task.state not in (TaskState.ASSIGNED, TaskState.WRAP_UP):
            continue  # the open offer is the hello's `offer`
        item: dict[str, object] = {"interaction_id": ix, "state": task.state.value,
                                   "channel": task.channel, "queue": task.queue}  # fmt: skip
        if task.state is TaskState.WRAP_UP:
            item["until"] = task.wrap_until
        held.append(item)
    return held


async def _drain(
    ws: web.WebSocketResponse, act: Callable[[bytes], Awaitable[None]] | None = None
) -> None:
    """Read until the client goes, handing data frames to `act` (if the caller may act)."""
    async for msg in ws:
        if msg.type == WSMsgType.ERROR:
            break
        if act is None:
            continue
        # JSON in a binary frame is taken too: some clients send every payload as one.
        if msg.type == WSMsgType.TEXT:
            await act(msg.data.encode())
        elif msg.type == WSMsgType.BINARY:
            await act(msg.data)


async def supervisor_stream(request: web.Request) -> web.WebSocketResponse:
    """Live queue and agent figures, sent now and then every `figures_interval` seconds."""
    ctx = context(request)
    ws = _socket()
    await ws.prepare(request)
    line = Line(ws, request.transport)
    line.start()
    ctx.hub.join(None, line)
    ticker = asyncio.create_task(_figures(request, line))
    try:
        await _drain(ws)
    finally:
        ticker.cancel()
        ctx.hub.leave(None, line)
        line.close()
        _release(request, ws)
    return ws


async def _figures(request: web.Request, line: Line) -> None:
    ctx = context(request)
    seq = 0
    while True:
        router = ctx.router
        at, queues, agents = router.stats.wallboard(
            router.engine, router.clock(), ctx.figures_interval / 2
        )
        seq += 1
        frame = {"type": "figures", "seq": seq, "at": at, "queues": queues, "agents": agents}
        line.send(orjson.dumps(frame))
        await asyncio.sleep(ctx.figures_interval)

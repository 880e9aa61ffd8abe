"""What an agent desktop may do over its WebSocket instead of HTTP: accept, reject, complete,
heartbeat and status. One frame in, one `reply` frame out, after the events it caused."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import structlog

from router import events as e
from router.api.bodies import Body, Int64, decode
from router.api.errors import describe
from router.api.hub import Line
from router.errors import Forbidden, InvalidInput, NotFound, RouterdError
from router.service import Router

log = structlog.get_logger("routerd.api")


class Action(Body):
    """A desktop's request: `action`, and what that action names; `ref` is echoed back."""

    action: str
    offer_id: str | None = None
    interaction_id: str | None = None
    status: str | None = None
    ref: str | Int64 | None = None


def _own(field: str, ident: str | None, owner: Callable[[str], str | None], agent_id: str) -> str:
    """`ident` (named by `field`), checked to exist and to be the agent's."""
    if ident is None:
        raise InvalidInput(field, "required")
    found = owner(ident)
    if found is None:
        raise NotFound(f"{field.removesuffix('_id')} {ident!r} not found or no longer open")
    if found != agent_id:
        raise Forbidden("an agent may act only on its own work")
    return ident


def _offer(router: Router, agent_id: str, action: Action) -> str:
    def owner(offer_id: str) -> str | None:
        offer = router.engine.offers.get(offer_id)
        return offer.agent if offer is not None else None

    return _own("offer_id", action.offer_id, owner, agent_id)


def _interaction(router: Router, agent_id: str, action: Action) -> str:
    def owner(ix: str) -> str | None:
        task = router.engine.tasks.get(ix)
        return (task.agent or "") if task is not None else None

    return _own("interaction_id", action.interaction_id, owner, agent_id)


def _event(router: Router, agent_id: str, action: Action) -> e.Event:
    """The engine event an action stands for, checked to be the agent's own business."""
    kind = action.action
    if kind == "accept":
        return e.OfferAccepted(_offer(router, agent_id, action))
    if kind == "reject":
        return e.OfferRejected(_offer(router, agent_id, action))
    if kind == "complete":
        return e.InteractionCompleted(_interaction(router, agent_id, action))
    if kind == "heartbeat":
        return e.AgentHeartbeat(agent_id)
    if kind == "status":
        if action.status is None:
            raise InvalidInput("status", "required")
        return e.AgentStatusChanged(agent_id, action.status)
    raise InvalidInput("action", "one of accept, reject, complete, heartbeat, status")


def handler(
    router: Router, agent_id: str, line: Line, *, may_act: bool = True
) -> Callable[[bytes], Awaitable[None]]:
    """Handles one incoming frame (UTF-8 JSON) of `agent_id`'s line; a caller that may not
    act (a supervisor watching) gets its refusal as the reply."""

    async def act(frame: bytes) -> None:
        ref: Any = None
        try:
            action = decode(frame, Action)
            ref = action.ref
            if not may_act:
                raise Forbidden("a supervisor may watch an agent's stream, not act on it")
            event = _event(router, agent_id, action)
            await router.submit(event)
            _log(event)
            reply: dict[str, Any] = {"type": "reply", "ref": ref, "ok": True}
        except RouterdError as err:  # `decode` turns every malformed frame into InvalidInput
            _, body = describe(err)
            reply = {"type": "reply", "ref": ref, "ok": False, **body}
        line.send(orjson.dumps(reply))

    return act


def _log(event: e.Event) -> None:
    """The lines the same action writes over HTTP; the stream's route bound agent_id."""
    if isinstance(event, e.InteractionCompleted):
        log.info("interaction_completed", interaction_id=event.interaction_id, via="socket")
    elif isinstance(event, e.AgentStatusChanged):
        log.info("agent_status_set", status=event.status, via="socket")

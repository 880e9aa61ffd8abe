"""`/v1/agents`: profiles, status and presence; `/v1/offers`: accept and reject."""

from __future__ import annotations

from typing import Any

import orjson
import structlog
from aiohttp import web

from router import events as e
from router.api.bodies import AgentIn, StatusIn
from router.api.context import body, context, reply
from router.errors import InvalidInput, NotFound
from router.model import Agent
from router.service import Router
from router.transitions import Op

log = structlog.get_logger("routerd.api")

MAX_ID = 128


def agent_view(router: Router, agent: Agent, name: str | None = None) -> dict[str, Any]:
    """An agent as the API shows it."""
    return {
        "id": agent.id,
        "name": name,
        "status": agent.status.value,
        "skills": agent.skills,
        "groups": list(agent.groups),
        "capacity": agent.capacity,
        "caps": agent.caps,
        "load": router.engine.roster.load(agent),
        "offer_id": agent.offer,
        "interactions": sorted(agent.active),
        "lease_until": agent.lease_until,
        "missed_offers": agent.missed,
    }


def _agent_id(request: web.Request) -> str:
    agent_id = request.match_info["id"]
    if len(agent_id) > MAX_ID:
        raise InvalidInput("id", f"at most {MAX_ID} characters")
    return agent_id


def _new_agent_id(request: web.Request) -> str:
    """The id of an agent being made or changed; one made before this rule still works."""
    agent_id = _agent_id(request)
    # An agent's keys are its id after a colon (`ag:ID`, `ag:ID:events`): with a colon of its
    # own, an id could name another agent's key, and the scripts writing it would fail halfway.
    if ":" in agent_id or " " in agent_id or not agent_id.isprintable():
        raise InvalidInput("id", "no colon, space or control character")
    return agent_id


async def put(request: web.Request) -> web.Response:
    """Create or change an agent's profile; its status and work are kept."""
    agent_id = _new_agent_id(request)
    data = await body(request, AgentIn)
    router = context(request).router

    def profile() -> list[Op]:
        agent = router.engine.agent(agent_id)
        return [
            router.store.ops.agent(
                agent_id,
                name=data.name,
                skills=orjson.dumps(agent.skills),
                groups=orjson.dumps(list(agent.groups)),
                capacity=agent.capacity,
                caps=agent.caps,
            )
        ]

    event = e.AgentUpserted(agent_id, data.skills, tuple(data.groups), data.capacity, data.caps)
    await router.submit(event, extra=profile)
    return reply(agent_view(router, router.engine.agent(agent_id), data.name))


async def set_status(request: web.Request) -> web.Response:
    """The agent sets its status (and, unless offline, renews its presence lease)."""
    agent_id = _agent_id(request)
    data = await body(request, StatusIn)
    router = context(request).router
    await router.submit(e.AgentStatusChanged(agent_id, data.status))
    log.info("agent_status_set", status=data.status)  # the route bound agent_id
    agent = router.engine.agent(agent_id)
    (name,) = await _names(router, [agent])
    return reply(agent_view(router, agent, name))


async def heartbeat(request: web.Request) -> web.Response:
    """The agent's desktop is alive: renew its presence lease."""
    agent_id = _agent_id(request)
    router = context(request).router
    await router.submit(e.AgentHeartbeat(agent_id))
    return reply({"id": agent_id, "lease_until": router.engine.agent(agent_id).lease_until})


async def _names(router: Router, agents: list[Agent]) -> list[str | None]:
    """The agents' display names: only Redis keeps them, the engine routes without."""
    keys = [router.store.keys.agent(a.id) for a in agents]
    return [None if n is None else n.decode() for n in await router.store.dump(keys, ["name"])]


async def list_all(request: web.Request) -> web.Response:
    """Every agent."""
    router = context(request).router
    agents = list(router.engine.roster)
    names = await _names(router, agents) if agents else []
    return reply([agent_view(router, a, n) for a, n in zip(agents, names, strict=True)])


async def show(request: web.Request) -> web.Response:
    """One agent."""
    router = context(request).router
    agent = router.engine.agent(_agent_id(request))
    (name,) = await _names(router, [agent])
    return reply(agent_view(router, agent, name))


async def agent_owner(request: web.Request) -> str | None:
    """The agent an `/v1/agents/{id}/...` path names."""
    return request.match_info["id"]


async def offer_owner(request: web.Request) -> str | None:
    """The agent an open offer is for."""
    offer = context(request).router.engine.offers.get(request.match_info["id"])
    return offer.agent if offer is not None else None


async def _answer_offer(
    request: web.Request, event: type[e.OfferAccepted | e.OfferRejected], state: str
) -> web.Response:
    offer_id = request.match_info["id"]
    router = context(request).router
    offer = router.engine.offers.get(offer_id)
    if offer is None:
        raise NotFound(f"offer {offer_id!r} not found or no longer open")
    await router.submit(event(offer_id))
    return reply({"offer_id": offer_id, "interaction_id": offer.task, "state": state})


async def accept(request: web.Request) -> web.Response:
    """The agent takes the offered interaction."""
    return await _answer_offer(request, e.OfferAccepted, "assigned")


async def reject(request: web.Request) -> web.Response:
    """The agent declines the offer: the interaction goes back to its place in the queue."""
    return await _answer_offer(request, e.OfferRejected, "rejected")

"""The route table: every path once, with who may call it; the guard and OpenAPI read it."""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from aiohttp import web

from router.api import agents, interactions, queues, routing_file, streams
from router.api.bodies import AgentIn, InteractionIn, StatusIn, TransferIn
from router.api.context import PRINCIPAL, Handler, Owner
from router.api.errors import ANSWERED, error_response
from router.auth import Auth, Principal
from router.errors import Forbidden, Unauthorized

READ = frozenset({"supervisor", "admin"})
ADMIN = frozenset({"admin"})


@dataclass(frozen=True, slots=True)
class Route:
    """One endpoint. `roles` may call it; the `agent` role also needs `owner` to name it."""

    method: str
    path: str
    handler: Handler
    summary: str
    roles: frozenset[str] | None  # None: no key needed
    body: type | None = None
    owner: Owner | None = None
    created: bool = False  # answers 201
    refusals: tuple[tuple[int, str], ...] = ()  # answers beside the ones every route may give

    @property
    def websocket(self) -> bool:
        """Whether the route opens a WebSocket (a stream)."""
        return self.path.endswith("/stream")


def _r(*roles: str) -> frozenset[str]:
    return frozenset(roles)


ROUTES = (
    Route("POST", "/v1/interactions", interactions.create, "Take in a contact",
          _r("adapter", "admin"), InteractionIn, created=True,
          refusals=((422, "Idempotency-Key already used for a different request"),)),
    Route("GET", "/v1/interactions/{id}", interactions.show,
          "An interaction: state, queue, agent, timestamps and explanation",
          _r("agent", "supervisor", "admin"), owner=interactions.owner),
    Route("POST", "/v1/interactions/{id}/complete", interactions.complete,
          "The agent finished the interaction", _r("agent", "adapter", "admin"),
          owner=interactions.owner),
    Route("POST", "/v1/interactions/{id}/transfer", interactions.transfer,
          "Move the interaction to another queue or to one agent",
          _r("agent", "supervisor", "admin"), TransferIn, owner=interactions.owner),
    Route("POST", "/v1/interactions/{id}/abandon", interactions.abandon,
          "The customer left before the end", _r("adapter", "supervisor", "admin")),
    Route("PUT", "/v1/agents/{id}", agents.put, "Create or change an agent's profile",
          ADMIN, AgentIn),
    Route("POST", "/v1/agents/{id}/status", agents.set_status, "Set an agent's status",
          _r("agent", "admin"), StatusIn, owner=agents.agent_owner),
    Route("POST", "/v1/agents/{id}/heartbeat", agents.heartbeat, "Renew the presence lease",
          _r("agent", "admin"), owner=agents.agent_owner),
    Route("GET", "/v1/agents", agents.list_all, "Every agent", READ),
    Route("GET", "/v1/agents/{id}", agents.show, "One agent", _r("agent", *READ),
          owner=agents.agent_owner),
    Route("GET", "/v1/agents/{id}/stream", streams.agent_stream,
          "WebSocket: the agent's offers and events; `?since=N` replays what was missed",
          _r("agent", *READ), owner=agents.agent_owner),
    Route("POST", "/v1/offers/{id}/accept", agents.accept, "Accept an offer",
          _r("agent", "admin"), owner=agents.offer_owner),
    Route("POST", "/v1/offers/{id}/reject", agents.reject, "Reject an offer",
          _r("agent", "admin"), owner=agents.offer_owner),
    Route("GET", "/v1/queues", queues.list_all, "Every queue's live figures", READ),
    Route("GET", "/v1/queues/{name}", queues.show, "One queue's live figures", READ),
    Route("GET", "/v1/stream", streams.supervisor_stream,
          "WebSocket: live queue and agent figures", READ),
    Route("GET", "/v1/config", routing_file.show,
          "The routing file in force: its source, tenant, channels, skills, queues, rules", READ),
    Route("POST", "/v1/config/reload", routing_file.reload,
          "Read the routing file again and route by it; refused, the old one stays", ADMIN,
          refusals=((422, "The file is invalid: every problem, with its file and line"),)),
    Route("GET", "/healthz", queues.healthz, "Redis reachable and engine routing", None),
    Route("GET", "/metrics", queues.metrics, "Prometheus metrics", None),
)  # fmt: skip


def guarded(route: Route, auth: Auth) -> Handler:
    """The route's handler behind its key and role check, its errors answered as JSON."""

    async def guard(request: web.Request) -> web.StreamResponse:
        try:
            if route.roles is not None:
                who = _caller(route, route.roles, auth, request)
                if who.role == "agent" and route.owner is not None:
                    owner = await route.owner(request)
                    if owner is not None and owner != who.agent:
                        raise Forbidden("an agent may act only on its own work")
                request[PRINCIPAL] = who
            ids = _ids(route, request)
            if not ids:  # binding nothing still walks every context variable: skip it
                return await route.handler(request)
            # Tokens, not unbinding: requests of one keep-alive connection share its task's
            # context.
            tokens = structlog.contextvars.bind_contextvars(**ids)
            try:
                return await route.handler(request)
            finally:
                structlog.contextvars.reset_contextvars(**tokens)
        except ANSWERED as err:
            return error_response(err)

    return guard


def _caller(route: Route, roles: frozenset[str], auth: Auth, request: web.Request) -> Principal:
    """Who calls, by their key; Unauthorized without a known key, Forbidden for another role."""
    header = request.headers.get("Authorization")
    if auth.enabled and not route.websocket and "key" in request.query:
        # A key in a URL ends up in proxies' and browsers' logs: only a stream may take one.
        raise Unauthorized("only WebSocket streams take ?key=; send Authorization: Bearer KEY")
    # Only a browser's WebSocket, which cannot send the header, needs the query's key.
    query = request.query.get("key") if header is None and auth.enabled else None
    who = auth.principal(header, query)
    if who.role not in roles:
        raise Forbidden(f"the {who.role} role may not {route.method} {route.path}")
    return who


def _ids(route: Route, request: web.Request) -> dict[str, str]:
    """What every log line of the request names: the interaction, agent or offer it is about."""
    ident = request.match_info.get("id")
    if ident is None:
        return {}
    kind = route.path.split("/")[2]  # /v1/<kind>/{id}...
    return {{"interactions": "interaction_id", "agents": "agent_id"}.get(kind, "offer_id"): ident}


def add_routes(app: web.Application, auth: Auth) -> None:
    """Register every route, guarded by `auth`."""
    for route in ROUTES:
        app.router.add_route(route.method, route.path, guarded(route, auth))

"""What every handler reaches through the request: the router, auth, hub and classifier (the
route guard gets the auth when the routes are added)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson
from aiohttp import web

from router.api.bodies import decode
from router.api.hub import Hub
from router.auth import Auth, Principal
from router.classify import Classifier
from router.errors import InvalidInput
from router.service import Router

T = TypeVar("T")
MAX_BODY = 256 * 1024  # the application's client_max_size
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# For the `agent` role: the agent a request's resource belongs to (None: not found, let the
# handler answer 404).
Owner = Callable[[web.Request], Awaitable[str | None]]


@dataclass(slots=True)
class Context:
    """The daemon's parts, as the API sees them."""

    router: Router
    auth: Auth
    hub: Hub = field(default_factory=Hub)
    classifier: Classifier | None = None
    figures_interval: float = 1.0

    def classify(self) -> Classifier:
        """The classifier of the routing file in force (a reload puts in another)."""
        if self.classifier is None or self.classifier.config is not self.router.config:
            self.classifier = Classifier(self.router.config)
        return self.classifier


CONTEXT = web.AppKey("context", Context)
PRINCIPAL = web.RequestKey("principal", Principal)


def context(request: web.Request) -> Context:
    """The daemon's parts."""
    return request.app[CONTEXT]


def principal(request: web.Request) -> Principal:
    """Who is calling (set by the guard)."""
    return request[PRINCIPAL]


def reply(data: Any, status: int = 200) -> web.Response:
    """A JSON answer, encoded by orjson."""
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


async def body(request: web.Request, kind: type[T]) -> T:
    """The request's JSON body, validated as `kind`."""
    content = request.content
    try:
        if not content.is_eof():
            return decode(await request.read(), kind)
        # The whole body came with the headers, as a small JSON body does: taken as it is,
        # without the read loop's awaits and copies, about a twentieth of routerd's CPU at full
        # ingest.
        data = content.read_nowait()
    except web.RequestPayloadError as err:  # a body its Content-Encoding does not decode
        raise InvalidInput("body", f"unreadable: {err}") from None
    if len(data) > MAX_BODY:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_BODY, actual_size=len(data))
    return decode(data, kind)

"""The aiohttp application: routes, the JSON error contract, and the API's lifecycle."""

from __future__ import annotations

from aiohttp import web

from router.api import openapi
from router.api.context import CONTEXT, MAX_BODY, Context
from router.api.errors import error
from router.api.routes import add_routes


async def unmatched(request: web.Request) -> web.Response:
    """A path no route serves (404), or not with this method (405, with the ones it allows)."""
    allowed: set[str] = set()
    for resource in request.app.router.resources():
        if resource is not request.match_info.route.resource:  # this one, which takes all
            allowed |= (await resource.resolve(request))[1]
    if not allowed:
        return error(404, "not_found", "Not Found")
    response = error(405, "method_not_allowed", "Method Not Allowed")
    response.headers["Allow"] = ",".join(sorted(allowed))
    return response


def make_app(ctx: Context) -> web.Application:
    """The API application for one router.

    It has no middleware: aiohttp wraps every request in two more coroutines for one, 3% of
    an ingest's instructions. Each route answers its own errors (`routes.guarded`), and a
    last route answers every request that no other takes (all but the odd request target
    that is not a path, `OPTIONS *`, which aiohttp answers itself).
    """
    app = web.Application(client_max_size=MAX_BODY)
    app[CONTEXT] = ctx
    app[openapi.DOCUMENT] = openapi.document()
    add_routes(app, ctx.auth)
    app.router.add_get("/v1/openapi.json", openapi.serve)
    app.router.add_route("*", "/{path:.*}", unmatched)  # last: it takes every path

    async def close_streams(app: web.Application) -> None:
        await ctx.hub.close_all()

    app.on_shutdown.append(close_streams)
    return app

"""The aiohttp application: routes, the JSON error contract, and the API's lifecycle."""

from __future__ import annotations

import structlog
from aiohttp import web

from router.api import openapi
from router.api.context import CONTEXT, MAX_BODY, Context, Handler, reply
from router.api.errors import describe, error_body
from router.api.routes import add_routes
from router.errors import RouterdError, Unavailable
from router.service import REDIS_DOWN, RETRY_AFTER

log = structlog.get_logger("routerd.api")


def error(status: int, code: str, message: str, field: str | None = None) -> web.Response:
    """An error answer in the one shape."""
    return reply(error_body(code, message, field), status)


def _for(err: RouterdError) -> web.Response:
    status, body = describe(err)
    if status == 500:
        log.error("error_unmapped", error=str(err))
    response = reply(body, status)
    if isinstance(err, Unavailable):
        response.headers["Retry-After"] = str(err.retry_after)
    return response


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Map routerd errors and aiohttp's own (404, 405, 413) to the JSON error shape."""
    try:
        return await handler(request)
    except RouterdError as err:
        return _for(err)
    except REDIS_DOWN:  # a read outside the routing loop (the loop maps its own)
        return _for(Unavailable("redis is unreachable", RETRY_AFTER))
    except web.HTTPRequestEntityTooLarge:
        return error(413, "too_large", f"the body is larger than {MAX_BODY} bytes", "body")
    except web.HTTPException as err:
        if err.status < 400:
            raise
        code = err.reason.lower().replace(" ", "_")
        return error(err.status, code, err.reason)


def make_app(ctx: Context) -> web.Application:
    """The API application for one router."""
    app = web.Application(middlewares=[errors], client_max_size=MAX_BODY)
    app[CONTEXT] = ctx
    app[openapi.DOCUMENT] = openapi.document()
    add_routes(app)
    app.router.add_get("/v1/openapi.json", openapi.serve)

    async def close_streams(app: web.Application) -> None:
        await ctx.hub.close_all()

    app.on_shutdown.append(close_streams)
    return app

"""The one error shape of the API, `{"error": {"code", "message", "field"}}`, per routerd error."""

from __future__ import annotations

from typing import Any

import structlog
from aiohttp import web

from router.api.context import MAX_BODY, reply
from router.errors import (
    ClassificationError,
    ConfigError,
    Conflict,
    Forbidden,
    IdempotencyKeyReused,
    InvalidInput,
    NotFound,
    RouterdError,
    Unauthorized,
    Unavailable,
)
from router.service import REDIS_DOWN, RETRY_AFTER

log = structlog.get_logger("routerd.api")

# What a route's errors may be: routerd's, Redis gone, and aiohttp's own 4xx and 5xx.
ANSWERED = (RouterdError, *REDIS_DOWN, web.HTTPError)

# Most specific first: InvalidInput and ClassificationError are ValueErrors too.
STATUS: tuple[tuple[type[RouterdError], int, str], ...] = (
    (IdempotencyKeyReused, 422, "idempotency_key_reused"),
    (InvalidInput, 400, "invalid"),
    (ClassificationError, 400, "invalid"),
    (Unauthorized, 401, "unauthorized"),
    (Forbidden, 403, "forbidden"),
    (NotFound, 404, "not_found"),
    (Conflict, 409, "conflict"),
    (Unavailable, 503, "unavailable"),
)


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    """The error object."""
    return {"error": {"code": code, "message": message, "field": field}}


def describe(err: RouterdError) -> tuple[int, dict[str, Any]]:
    """The HTTP status and error object of a routerd error (500 for one not mapped)."""
    if isinstance(err, ConfigError):
        return 422, _config_error(err)
    for kind, status, code in STATUS:
        if isinstance(err, kind):
            field = err.field if isinstance(err, InvalidInput) else None
            message = str(err).removeprefix(f"{field}: ") if field else str(err)
            return status, error_body(code, message, field)
    return 500, error_body("internal", str(err))


def _config_error(err: ConfigError) -> dict[str, Any]:
    """The first problem as the error; every problem, each with its file and line, beside it."""
    first = err.problems[0] if err.problems else None
    field = first.path or None if first is not None else None
    body = error_body("invalid_routing_file", str(first or err), field)
    body["error"]["problems"] = [
        {"file": p.file, "line": p.line, "field": p.path or None, "message": p.message}
        for p in err.problems
    ]
    return body


def error(status: int, code: str, message: str, field: str | None = None) -> web.Response:
    """An error answer in the one shape."""
    return reply(error_body(code, message, field), status)


def error_response(err: Exception) -> web.Response:
    """The answer to one of the `ANSWERED` errors."""
    if isinstance(err, web.HTTPRequestEntityTooLarge):
        return error(413, "too_large", f"the body is larger than {MAX_BODY} bytes", "body")
    if isinstance(err, web.HTTPException):
        return error(err.status, err.reason.lower().replace(" ", "_"), err.reason)
    if not isinstance(err, RouterdError):  # a read outside the routing loop (it maps its own)
        err = Unavailable("redis is unreachable", RETRY_AFTER)
    status, body = describe(err)
    if status == 500:
        log.error("error_unmapped", error=str(err))
    response = reply(body, status)
    if isinstance(err, Unavailable):
        response.headers["Retry-After"] = str(err.retry_after)
    return response

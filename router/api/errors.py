"""The one error shape of the API, `{"error": {"code", "message", "field"}}`, per routerd error."""

from __future__ import annotations

from typing import Any

from router.errors import (
    ClassificationError,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    RouterdError,
    Unauthorized,
    Unavailable,
)

# Most specific first: InvalidInput and ClassificationError are ValueErrors too.
STATUS: tuple[tuple[type[RouterdError], int, str], ...] = (
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
    for kind, status, code in STATUS:
        if isinstance(err, kind):
            field = err.field if isinstance(err, InvalidInput) else None
            message = str(err).removeprefix(f"{field}: ") if field else str(err)
            return status, error_body(code, message, field)
    return 500, error_body("internal", str(err))

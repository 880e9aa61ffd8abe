"""The OpenAPI document, made from the route table and the body structs (so it cannot drift)."""

from __future__ import annotations

import re
from typing import Any

import msgspec
from aiohttp import web

from router import __version__
from router.api.context import reply
from router.api.routes import ROUTES, Route

_PARAM = re.compile(r"{(\w+)}")
ERROR = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "field": {"type": ["string", "null"]},
                "problems": {
                    "description": "a refused routing file: every problem, where it is",
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "file": {"type": "string"},
                            "line": {"type": "integer"},
                            "field": {"type": ["string", "null"]},
                            "message": {"type": "string"},
                        },
                    },
                },
            },
            "required": ["code", "message"],
        }
    },
}


def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the API."""
    bodies = [r.body for r in ROUTES if r.body is not None]
    template = "#/components/schemas/{name}"
    _, components = msgspec.json.schema_components(bodies, ref_template=template)
    components["Error"] = ERROR
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.1.0",
        "info": {"title": "routerd", "version": __version__},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}},
        },
    }


def _operation(route: Route) -> dict[str, Any]:
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    op: dict[str, Any] = {
        "summary": route.summary,
        "parameters": [
            {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
            for p in _PARAM.findall(route.path)
        ],
        "responses": {
            "201" if route.created else "200": {"description": "OK"},
            "400": {"description": "Bad input; nothing changed", **error},
            "404": {"description": "Not found", **error},
            "409": {"description": "Not in a state that allows this", **error},
            "503": {"description": "Redis unreachable; retry after Retry-After", **error},
        },
    }
    for status, description in route.refusals:
        op["responses"][str(status)] = {"description": description, **error}
    if route.roles is not None:
        op["security"] = [{"apiKey": []}]
        op["x-roles"] = sorted(route.roles)
        op["responses"]["401"] = {"description": "No or unknown API key", **error}
        op["responses"]["403"] = {"description": "Role or owner not allowed", **error}
    if route.body is not None:
        ref = {"$ref": f"#/components/schemas/{route.body.__name__}"}
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref}}}
    return op


async def serve(request: web.Request) -> web.Response:
    """`GET /v1/openapi.json`."""
    return reply(request.app[DOCUMENT])


DOCUMENT = web.AppKey("openapi", dict)

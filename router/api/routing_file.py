"""The routing file in force: what it holds, and reading it again (`POST /v1/config/reload`)."""

from __future__ import annotations

from aiohttp import web

from router.api.context import context, reply
from router.reload import reload_file


async def show(request: web.Request) -> web.Response:
    """Where the routing file in force came from and what it routes."""
    config = context(request).router.config
    return reply(
        {
            "source": config.source,
            "tenant": config.tenant,
            "channels": list(config.channels),
            "skills": list(config.skills),
            "groups": list(config.groups),
            "queues": list(config.queues),
            "rules": [rule.name for rule in config.classification.rules],
        }
    )


async def reload(request: web.Request) -> web.Response:
    """Read the routing file again and route by it; refused (422 or 409), the old one stays."""
    done = await reload_file(context(request).router)
    return reply(done.as_json())

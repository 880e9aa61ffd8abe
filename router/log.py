"""Logging: structlog, JSON lines in production, key=value in a terminal."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Mapping

import orjson
import structlog
from structlog.typing import EventDict, WrappedLogger

LEVELS = ("debug", "info", "warning", "error")
_kept = {"debug": False}  # by configure


def debug_enabled() -> bool:
    """Whether `configure` kept debug lines: a hot path asks before it builds one that would be
    dropped (a dropped `log.debug` still costs its arguments and structlog's proxy, 2% of an
    ingest). Before `configure` runs, and if structlog is set up otherwise, it says False."""
    return _kept["debug"]


class UtcStamp:
    """Adds `timestamp`, ISO 8601 in UTC to the microsecond: the date and time of day are
    formatted once a second (structlog's TimeStamper built a datetime for every line, a fifth
    of a line's instructions)."""

    def __init__(self) -> None:
        self._second = (-1, "")

    def __call__(self, _logger: WrappedLogger, _name: str, event: EventDict) -> EventDict:
        """The processor."""
        second, micro = divmod(round(time.time() * 1_000_000), 1_000_000)
        cached, prefix = self._second
        if second != cached:
            prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = (second, prefix)
        event["timestamp"] = f"{prefix}.{micro:06d}Z"
        return event


def _dumps(data: object, **_: object) -> str:
    return orjson.dumps(data, default=str).decode()


def configure(env: Mapping[str, str]) -> None:
    """Set up structlog from ROUTERD_LOG_FORMAT (json|console) and ROUTERD_LOG_LEVEL."""
    fmt = env.get("ROUTERD_LOG_FORMAT") or ("console" if sys.stderr.isatty() else "json")
    level = env.get("ROUTERD_LOG_LEVEL", "info").lower()
    if level not in LEVELS:
        level = "info"
    _kept["debug"] = level == "debug"
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer(serializer=_dumps)
        if fmt == "json"
        else structlog.processors.KeyValueRenderer(key_order=["timestamp", "level", "event"])
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            UtcStamp(),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level.upper())),
        # One write per line, newline included: print() writes the newline apart, and a daemon
        # killed between the two writes left a torn line that the next start wrote onto.
        logger_factory=structlog.WriteLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )

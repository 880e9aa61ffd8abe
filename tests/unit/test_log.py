"""Log lines reach stderr whole: a daemon killed between two writes must not tear one."""

from __future__ import annotations

import contextlib
import datetime
import io
import time
from collections.abc import Iterator

import orjson
import pytest
import structlog

from router.log import UtcStamp, configure


class Writes(io.StringIO):
    """A stream that keeps each write apart."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def write(self, s: str) -> int:
        self.calls.append(s)
        return super().write(s)


@pytest.fixture
def writes() -> Iterator[Writes]:
    saved = structlog.get_config()
    stream = Writes()
    with contextlib.redirect_stderr(stream):  # configure binds the stderr of its call
        configure({"ROUTERD_LOG_FORMAT": "json", "ROUTERD_LOG_LEVEL": "info"})
    structlog.configure(cache_logger_on_first_use=False)
    try:
        yield stream
    finally:
        structlog.configure(**saved)


def test_each_json_line_is_one_write_with_its_newline(writes: Writes) -> None:
    log = structlog.get_logger("routerd.test")
    log.info("interaction_completed", interaction_id="ix1")
    log.warning("routing_paused", reason="redis_unreachable")
    assert [orjson.loads(c)["event"] for c in writes.calls if c.endswith("\n")] == [
        "interaction_completed",
        "routing_paused",
    ] and len(writes.calls) == 2


@pytest.mark.parametrize(
    "now", [1765100000.0, 1765100000.000001, 1765100000.4999996, 1765100059.9999997, 1796083199.5]
)
def test_the_timestamp_is_the_time_in_utc_to_the_microsecond(
    monkeypatch: pytest.MonkeyPatch, now: float
) -> None:
    stamp = UtcStamp()
    stamp(None, "info", {})  # an earlier second's line, so that its cache must move on
    monkeypatch.setattr(time, "time", lambda: now)
    text = stamp(None, "info", {})["timestamp"]
    shown = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.UTC)
    assert abs(shown.timestamp() - now) <= 0.5e-6

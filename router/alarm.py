"""The routing loop's wake-up: set by whoever hands it work, or rung at a deadline.

`asyncio.wait_for(event.wait(), timeout)` made a task, a timer and a waiter per sleep, and a
turn of the loop sleeps once or twice: for a contact posted alone, that was an eighth of the
daemon's instructions. One future per sleep does the same job.
"""

from __future__ import annotations

import asyncio


def _ring(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class Alarm:
    """A flag one coroutine sleeps on until it is set or its timeout passes."""

    def __init__(self) -> None:
        self._set = False
        self._waiter: asyncio.Future[None] | None = None

    def is_set(self) -> bool:
        """Whether it was set since it was last cleared."""
        return self._set

    def set(self) -> None:
        """Set the flag and wake the sleeper, if any."""
        self._set = True
        if self._waiter is not None:
            _ring(self._waiter)

    def clear(self) -> None:
        """Clear the flag; the next `wait` sleeps."""
        self._set = False

    async def wait(self, timeout: float | None = None) -> None:
        """Return once the flag is set or after `timeout` seconds (never, when None)."""
        if self._set:
            return
        if timeout is not None and timeout <= 0:
            # A deadline already due still lets the loop's other callbacks run: one the
            # engine keeps reporting due must not starve the requests and Redis's replies.
            await asyncio.sleep(0)
            return
        assert self._waiter is None, "one sleeper at a time"
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        timer = None if timeout is None else loop.call_later(timeout, _ring, waiter)
        try:
            await waiter
        finally:
            self._waiter = None
            if timer is not None:
                timer.cancel()

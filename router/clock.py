"""Clocks the engine reads: the real one for the daemon, a virtual one for the simulator."""

from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], float]


def wall_clock() -> float:
    """Seconds since the epoch; deadlines are stored as wall time so they survive restarts."""
    return time.time()


class VirtualClock:
    """A clock that only moves when told to."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance_to(self, t: float) -> None:
        """Move to `t`; time never runs backwards."""
        self.now = max(self.now, t)

"""Deadlines the engine must act on, in one heap; stale entries are skipped when popped."""

from __future__ import annotations

import heapq
import itertools
from enum import IntEnum


class TimerKind(IntEnum):
    """What a deadline is for."""

    OFFER = 0  # ref: offer id
    WRAP_UP = 1  # ref: interaction id
    LEASE = 2  # ref: agent id
    ESCALATE = 3  # ref: interaction id
    MAX_WAIT = 4  # ref: interaction id
    STICKY = 5  # ref: interaction id


class Timers:
    """A min-heap of (when, kind, ref); whoever pops checks the entry still applies."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, TimerKind, str]] = []
        self._order = itertools.count()

    def add(self, when: float, kind: TimerKind, ref: str) -> None:
        """Arm a deadline."""
        heapq.heappush(self._heap, (when, next(self._order), kind, ref))

    def due(self, now: float) -> bool:
        """Whether some deadline falls at or before `now`."""
        return bool(self._heap) and self._heap[0][0] <= now

    def pop_due(self, now: float) -> tuple[float, TimerKind, str] | None:
        """The earliest deadline at or before `now`, removed; None if nothing is due."""
        if self._heap and self._heap[0][0] <= now:
            when, _, kind, ref = heapq.heappop(self._heap)
            return when, kind, ref
        return None

    def peek(self) -> tuple[float, TimerKind, str] | None:
        """The earliest deadline, left in place; None if there is none."""
        if not self._heap:
            return None
        when, _, kind, ref = self._heap[0]
        return when, kind, ref

    def drop(self) -> None:
        """Remove the earliest deadline (one `peek` found stale)."""
        heapq.heappop(self._heap)

    def __len__(self) -> int:
        return len(self._heap)

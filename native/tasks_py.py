"""Twin TaskBoard: waiting work by bucket, ranked for one agent by task score."""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from typing import NamedTuple

from native.agents_py import MAX_SLOT, AgentIndex, check_now, check_task

_INF = math.inf


class TaskBoard:
    """Waiting work by bucket (queue x priority): definition plus the arrival time of its head."""

    def __init__(self, agents: AgentIndex, size_hint: int = 64) -> None:
        if size_hint < 0:
            raise ValueError("size_hint must be >= 0")
        self._agents = agents
        self._defs: list[_Bucket | None] = []
        self._since: list[float] = []

    def set_bucket(  # noqa: PLR0917 - the kernel API is positional, like the compiled one
        self,
        b: int,
        channel: int,
        skills: Sequence[int],
        levels: Sequence[int],
        pref_skills: Sequence[int],
        pref_levels: Sequence[int],
        groups: int,
        priority: int,
        target: float,
    ) -> None:
        ag = self._agents
        if not 0 <= b <= MAX_SLOT:
            raise ValueError(f"bucket {b} out of range")
        spec = (channel, skills, levels, pref_skills, pref_levels, groups, priority, target)
        check_task(ag, spec)
        if b >= len(self._defs):
            extra = b + 1 - len(self._defs)
            self._defs += [None] * extra
            self._since += [_INF] * extra
        if self._defs[b] is None:
            self._since[b] = _INF
        self._defs[b] = _Bucket(
            channel,
            tuple(int(s) for s in skills),
            tuple(int(x) for x in levels),
            tuple(int(s) for s in pref_skills),
            tuple(int(x) for x in pref_levels),
            int(groups),
            int(priority),
            float(target),
        )

    def _check(self, b: int) -> None:
        if not (0 <= b < len(self._defs) and self._defs[b] is not None):
            raise KeyError(b)

    def set_head(self, b: int, since: float) -> None:
        self._check(b)
        if math.isnan(since) or since == -_INF:
            raise ValueError("since must be finite or +inf (empty)")
        self._since[b] = float(since)

    def clear_bucket(self, b: int) -> None:
        self._check(b)
        self._defs[b] = None
        self._since[b] = _INF

    def rank(self, a: int, now: float, k: int) -> list[int]:
        ag = self._agents
        ag._check(a)
        check_now(now)
        if k <= 0 or ag._lease[a] < now:
            return []
        ready = ag._ready_mask[a]
        w_prio, w_sla, w_fit = ag._w_prio, ag._w_sla, ag._w_fit
        scored = []
        for b, d in enumerate(self._defs):
            since = self._since[b]
            if d is None or since == _INF or not ready >> d.channel & 1:
                continue
            if not ag._holds(a, d.skills, d.levels, d.groups):
                continue
            fit = ag._fit(a, sum(d.levels), d.pref_skills, d.pref_levels)
            wait = now - since
            if not wait > 0.0:
                wait = 0.0
            score = w_prio * (d.priority / 10.0) + w_sla * (wait / d.target) + w_fit * fit
            scored.append((-score, since, b))
        return [b for _, _, b in heapq.nsmallest(k, scored)]


class _Bucket(NamedTuple):
    channel: int
    skills: tuple[int, ...]
    levels: tuple[int, ...]
    pref_skills: tuple[int, ...]
    pref_levels: tuple[int, ...]
    groups: int
    priority: int
    target: float

"""Twin batch_match: pair benefits, then the exact max-benefit task/agent matching."""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

from native.agents_py import check_now, check_task
from native.auction_py import Auction

if TYPE_CHECKING:
    from native.agents_py import AgentIndex

Task = tuple[
    int, Sequence[int], Sequence[int], Sequence[int], Sequence[int], int, int, float, float,
    Collection[int],
]  # fmt: skip

# Pair benefits above this are refused: scaled by the problem size they must stay far from 2**63.
MAX_BENEFIT = 2**31


class _AgentParts:
    """An agent's w_load * load and w_idle * idle terms, computed once per agent per batch."""

    def __init__(self, agents: AgentIndex, now: float) -> None:
        self._agents = agents
        self._now = now
        self._memo: dict[int, tuple[float, float]] = {}

    def __call__(self, a: int) -> tuple[float, float]:
        got = self._memo.get(a)
        if got is None:
            ag = self._agents  # private access below: the batch is part of the kernel
            got = (ag._w_load * ag._load_part(a), ag._w_idle * ag._idle_part(a, self._now))
            self._memo[a] = got
        return got


class _Ask:
    """What a task asks, read and checked: every task is read before any agent is listed."""

    __slots__ = ("channel", "excluded", "groups", "levels", "pl", "prio", "ps", "skills", "urgency")

    def __init__(self, agents: AgentIndex, task: Task, now: float) -> None:
        channel, skills, levels, pref_skills, pref_levels, groups, priority, target, since, ex = (
            task
        )
        check_task(agents, task[:8])
        if math.isnan(since):
            raise ValueError("since must not be NaN")
        wait = now - since
        if not wait > 0.0:
            wait = 0.0
        urgency = wait / target
        if not urgency < 100.0:
            urgency = 100.0
        self.channel, self.skills, self.levels, self.groups = channel, skills, levels, groups
        self.ps, self.pl = pref_skills, pref_levels
        self.prio, self.urgency = priority / 10.0, urgency
        self.excluded = set(ex)


def _pair_edges(
    agents: AgentIndex, ask: _Ask, now: float, parts: _AgentParts
) -> list[tuple[int, int]]:
    """(slot, integer benefit) for every agent eligible for a task, ascending slot."""
    base = sum(ask.levels)
    ag = agents  # private access below: the batch is part of the kernel
    out = []
    for a in ag._candidates(ask.channel, ask.skills, ask.levels, ask.groups, now):
        if a in ask.excluded:
            continue
        fit = ag._fit(a, base, ask.ps, ask.pl)
        load, idle = parts(a)
        # Summed in the order rank and the compiled kernel use: the same benefit to the bit.
        score = ag._w_fit * fit + load + idle + ag._w_prio * ask.prio + ag._w_sla * ask.urgency
        x = (score + 1.0) * 10000.0 + 0.5
        if not 1.0 <= x < MAX_BENEFIT + 1.0:
            raise ValueError("pair score out of range; weights or priority too large")
        out.append((a, int(x)))
    return out


def batch_match(agents: AgentIndex, tasks: Sequence[Task], now: float) -> list[int]:
    check_now(now)
    asks = [_Ask(agents, t, now) for t in tasks]
    parts = _AgentParts(agents, now)
    per_task = [_pair_edges(agents, ask, now, parts) for ask in asks]
    result = [-1] * len(tasks)
    live = [t for t, e in enumerate(per_task) if e]
    if not live:
        return result
    # Benefits scaled by the number of tasks + 1 make the auction's final epsilon of 1 exact: its
    # persons, at most one per task, lose at most 1 each, together less than one unscaled unit.
    scale = len(tasks) + 1
    first_dummy = 1 + max(a for t in live for a, _ in per_task[t])
    rows: list[list[tuple[int, int]]] = []
    cols: list[list[tuple[int, int]]] = [[] for _ in range(first_dummy)]
    for i, t in enumerate(live):
        row = [(a, w * scale) for a, w in per_task[t]]
        for a, w in row:
            cols[a].append((i, w))
        row.append((first_dummy + i, 0))
        rows.append(row)
    assigned = Auction(rows, cols, first_dummy).solve(max(w for row in rows for _, w in row))
    for i, t in enumerate(live):
        if assigned[i] < first_dummy:
            result[t] = assigned[i]
    return result

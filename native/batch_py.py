"""Twin batch_match: exact max-weight task/agent matching by an epsilon-scaling auction."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

from native.agents_py import check_groups, check_now, check_priority, check_target, check_terms

if TYPE_CHECKING:
    from native.agents_py import AgentIndex

Task = tuple[
    int, Sequence[int], Sequence[int], Sequence[int], Sequence[int], int, int, float, float,
    Collection[int],
]  # fmt: skip

# Pair benefits above this are refused: scaled by the problem size they must stay far from 2**63.
MAX_BENEFIT = 2**31
# Epsilon starts at the largest benefit / FIRST_DIV and shrinks by THETA per scaling phase.
# Benefits share a large common part ((score + 1) * 10000, times the scale), so the options a
# task weighs differ by a small fraction of the largest benefit: phases with a bigger epsilon
# only settle ties the next phase undoes. Both tuned on bench.kernel's batch_1000 (5 and 4096:
# 21-28 ms, against 52 ms for the former 8 and 8); exactness does not depend on them.
THETA = 5
FIRST_DIV = 4096
_NEG = -(2**62)


def _pair_edges(agents: AgentIndex, task: Task, now: float) -> list[tuple[int, int]]:
    """(slot, integer benefit) for every agent eligible for `task`, ascending slot."""
    channel, skills, levels, pref_skills, pref_levels, groups, priority, target, since, ex = task
    agents._check_channel(channel)
    check_terms(agents._n_skills, skills, levels)
    check_terms(agents._n_skills, pref_skills, pref_levels)
    check_groups(groups)
    check_priority(priority)
    check_target(target)
    if math.isnan(since):
        raise ValueError("since must not be NaN")
    excluded = set(ex)
    base = sum(levels)
    wait = now - since
    if not wait > 0.0:
        wait = 0.0
    urgency = wait / target
    if not urgency < 100.0:
        urgency = 100.0
    prio = priority / 10.0
    ag = agents  # private access below: the batch is part of the kernel
    out = []
    for a in ag._candidates(channel, skills, levels, groups, now):
        if a in excluded:
            continue
        fit = ag._fit(a, base, pref_skills, pref_levels)
        score = (
            ag._w_fit * fit
            + ag._w_load * ag._load_part(a)
            + ag._w_idle * ag._idle_part(a, now)
            + ag._w_prio * prio
            + ag._w_sla * urgency
        )
        x = (score + 1.0) * 10000.0 + 0.5
        if not 1.0 <= x < MAX_BENEFIT + 1.0:
            raise ValueError("pair score out of range; weights or priority too large")
        out.append((a, int(x)))
    return out


def batch_match(agents: AgentIndex, tasks: Sequence[Task], now: float) -> list[int]:
    check_now(now)
    per_task = [_pair_edges(agents, t, now) for t in tasks]
    result = [-1] * len(tasks)
    live = [t for t, e in enumerate(per_task) if e]
    slots = sorted({a for e in per_task for a, _ in e})
    if not live:
        return result
    local = {a: j for j, a in enumerate(slots)}
    n, m = len(live), len(slots)
    scale = n + m + 1
    # Square reduction: persons = tasks then agent copies; objects = agents then task copies.
    # Every task may fall back on its own copy and every agent copy on its agent, so a perfect
    # assignment always exists, and its task->agent part is a maximum-benefit matching. Scaling
    # the benefits by n + m + 1 makes the final epsilon of 1 exact.
    adj: list[list[tuple[int, int]]] = []
    by_agent: list[list[int]] = [[] for _ in range(m)]
    for i, t in enumerate(live):
        row = [(local[a], w * scale) for a, w in per_task[t]]
        for j, _ in row:
            by_agent[j].append(i)
        row.append((m + i, 0))
        adj.append(row)
    for j in range(m):
        adj.append([(j, 0)] + [(m + i, 0) for i in by_agent[j]])
    assigned = auction(adj, max(w for row in adj for _, w in row))
    for i, t in enumerate(live):
        if assigned[i] < m:
            result[t] = slots[assigned[i]]
    return result


def auction(adj: list[list[tuple[int, int]]], max_benefit: int) -> list[int]:
    """Object per person of a max-benefit perfect assignment; every row has >= 2 edges.

    Optimal when benefits are integers scaled so that a final epsilon of 1 is below 1/n of a unit.
    """
    size = len(adj)
    price = [0] * size
    eps = max(1, max_benefit // FIRST_DIV)
    while True:
        owner = [-1] * size
        assigned = [-1] * size
        queue = deque(range(size))
        while queue:
            i = queue.popleft()
            best_j, best_v, second_v = -1, _NEG, _NEG
            for j, w in adj[i]:
                v = w - price[j]
                if v > best_v:
                    best_j, best_v, second_v = j, v, best_v
                elif v > second_v:
                    second_v = v
            price[best_j] += best_v - second_v + eps
            prev = owner[best_j]
            owner[best_j] = i
            assigned[i] = best_j
            if prev >= 0:
                assigned[prev] = -1
                queue.append(prev)
        if eps == 1:
            return assigned
        eps = max(1, eps // THETA)

"""batch_match: exact, maximal and one task per agent, in the twin and the compiled kernel."""

from __future__ import annotations

import math
import random
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from native import batch_py, kernel_py
from native.batch_py import Task
from tests.unit.kernel_kit import (
    CAPS,
    CHAT,
    EMAIL,
    VOICE,
    W_FIT,
    W_IDLE,
    W_LOAD,
    W_PRIO,
    W_SLA,
    S,
    agent,
    index,
)  # fmt: skip

# -- batch_match -------------------------------------------------------------------------------


def benefit(ix: Any, task: Task, a: int, now: float) -> int:
    channel, skills, levels, ps, pl, _, priority, target, since, _ = task
    fit, load, idle = ix.parts(a, channel, skills, levels, ps, pl, now)
    urgency = min(100.0, max(0.0, now - since) / target)
    score = W_FIT * fit + W_LOAD * load + W_IDLE * idle + W_PRIO * (priority / 10.0)
    return int((score + W_SLA * urgency + 1.0) * 10000.0 + 0.5)


def pairs(ix: Any, tasks: list[Task], n_agents: int, now: float) -> dict[int, dict[int, int]]:
    out: dict[int, dict[int, int]] = {}
    for t, task in enumerate(tasks):
        channel, skills, levels, _, _, groups, *_, exclude = task
        out[t] = {
            a: benefit(ix, task, a, now)
            for a in range(n_agents)
            if a not in exclude and ix.eligible(a, channel, skills, levels, groups, now)
        }
    return out


def test_batch_beats_greedy(k: ModuleType) -> None:
    ix = index(k)
    agent(ix, 0, [1, 0, 0, 0])
    agent(ix, 1, [1, 1, 0, 0])
    urgent: Task = (CHAT, [0], [1], [], [], 0, 9, 20.0, 0.0, ())  # wants 0 most, 1 will do
    picky: Task = (CHAT, [1], [0], [], [], 0, 0, 20.0, 90.0, (1,))  # only 0 is allowed
    assert k.batch_match(ix, [urgent, picky], 100.0) == [1, 0]
    assert k.batch_match(ix, [urgent], 100.0) == [0]
    nobody: Task = (VOICE, [3], [1], [], [], 0, 0, 20.0, 0.0, ())
    assert k.batch_match(ix, [nobody, urgent], 100.0) == [-1, 0]
    assert k.batch_match(ix, [], 100.0) == []


def test_batch_refuses_bad_tasks(k: ModuleType) -> None:
    ix = index(k)
    agent(ix, 0, [1, 0, 0, 0])
    bads: list[Task] = [
        (CHAT, [0], [1], [], [], 0, 1, 0.0, 0.0, ()),
        (CHAT, [0], [1], [], [], 0, -1, 10.0, 0.0, ()),
        (CHAT, [0], [1], [], [], 0, 1, 10.0, math.nan, ()),
        (CHAT, [0], [7], [], [], 0, 1, 10.0, 0.0, ()),
    ]
    for bad in bads:
        with pytest.raises(ValueError):
            k.batch_match(ix, [bad], 100.0)


@pytest.mark.parametrize("seed", range(60))
def test_batch_is_optimal_and_maximal(k: ModuleType, seed: int) -> None:
    rng = random.Random(seed)
    n_agents, n_tasks, now = rng.randint(1, 9), rng.randint(1, 9), 100.0
    ix = index(k)
    for a in range(n_agents):
        ix.set_agent(a, [rng.choice((0, 1, 2, 3)) for _ in range(S)], rng.randint(1, 3), 100, CAPS)
        ix.set_presence(a, rng.random() < 0.9, 1000.0, rng.uniform(0.0, 100.0))
        ix.add_load(a, CHAT, rng.randint(0, 2))
    tasks: list[Task] = []
    for _ in range(n_tasks):
        skills = rng.sample(range(S), rng.randint(0, 2))
        tasks.append((
            rng.choice((CHAT, EMAIL)), skills, [rng.randint(1, 2) for _ in skills],
            [rng.randrange(S)], [rng.randint(1, 5)], rng.choice((0, 1, 2)), rng.randint(0, 10),
            rng.choice((10.0, 30.0)), rng.uniform(0.0, 100.0), {rng.randrange(n_agents)},
        ))  # fmt: skip
    got = k.batch_match(ix, tasks, now)
    edges = pairs(ix, tasks, n_agents, now)
    matched = [a for a in got if a >= 0]
    assert len(matched) == len(set(matched))
    assert all(a < 0 or a in edges[t] for t, a in enumerate(got))
    free = set(range(n_agents)) - set(matched)
    assert not any(got[t] < 0 and free & edges[t].keys() for t in edges)  # maximal
    grid = np.zeros((n_tasks, n_agents + n_tasks))
    for t, row in edges.items():
        for a, w in row.items():
            grid[t, a] = w
    rows, cols = linear_sum_assignment(grid, maximize=True)
    assert sum(edges[t][a] for t, a in enumerate(got) if a >= 0) == grid[rows, cols].sum()


@pytest.mark.parametrize("schedule", [(2, 1), (8, 8), (3, 10**6)])
@pytest.mark.parametrize("seed", range(10))
def test_batch_exact_under_any_schedule(
    monkeypatch: pytest.MonkeyPatch, schedule: tuple[int, int], seed: int
) -> None:
    # THETA and FIRST_DIV are tuned for speed alone; the final epsilon of 1 keeps it exact.
    monkeypatch.setattr(batch_py, "THETA", schedule[0])
    monkeypatch.setattr(batch_py, "FIRST_DIV", schedule[1])
    test_batch_is_optimal_and_maximal(kernel_py, seed)

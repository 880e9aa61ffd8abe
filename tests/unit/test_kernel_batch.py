"""batch_match: exact, maximal and one task per agent, in the twin and the compiled kernel."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Collection, Iterator
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from native import auction_py, kernel_py
from native.batch_py import Task
from tests.unit.kernel_kit import (
    BLOCKS,
    CAPS,
    CHAT,
    COMPILED,
    COSTS,
    EMAIL,
    HALF_LIFE,
    INTERRUPTIBLE_BY,
    NOT_BUILT,
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


def random_batch(
    k: ModuleType, rng: random.Random, n_agents: int, n_tasks: int
) -> tuple[Any, list[Task]]:
    ix = index(k, n_agents)
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
    return ix, tasks


def assert_optimal_and_maximal(ix: Any, tasks: list[Task], got: list[int], n_agents: int) -> None:
    edges = pairs(ix, tasks, n_agents, 100.0)
    matched = [a for a in got if a >= 0]
    assert len(matched) == len(set(matched))
    assert all(a < 0 or a in edges[t] for t, a in enumerate(got))
    free = set(range(n_agents)) - set(matched)
    assert not any(got[t] < 0 and free & edges[t].keys() for t in edges)  # maximal
    assert sum(edges[t][a] for t, a in enumerate(got) if a >= 0) == best_total(edges, n_agents)


def best_total(edges: dict[int, dict[int, int]], n_agents: int) -> int:
    grid = np.zeros((len(edges), n_agents + len(edges)))  # a zero column per task: unassigned
    for t, row in edges.items():
        for a, w in row.items():
            grid[t, a] = w
    rows, cols = linear_sum_assignment(grid, maximize=True)
    return int(grid[rows, cols].sum())


@pytest.mark.parametrize("seed", range(60))
def test_batch_is_optimal_and_maximal(k: ModuleType, seed: int) -> None:
    rng = random.Random(seed)
    n_agents, n_tasks = rng.randint(1, 9), rng.randint(1, 9)
    ix, tasks = random_batch(k, rng, n_agents, n_tasks)
    assert_optimal_and_maximal(ix, tasks, k.batch_match(ix, tasks, 100.0), n_agents)


@pytest.mark.parametrize("seed", range(6))
def test_batch_is_optimal_at_scale(k: ModuleType, seed: int) -> None:
    # Rows and columns longer than either kernel's caches, and more tasks than agents: caches
    # get rebuilt and unassigned agents bid back down in reverse.
    rng = random.Random(seed)
    n_agents, n_tasks = rng.randint(30, 60), rng.randint(40, 90)
    ix, tasks = random_batch(k, rng, n_agents, n_tasks)
    assert_optimal_and_maximal(ix, tasks, k.batch_match(ix, tasks, 100.0), n_agents)


class Meddler(Collection[int]):
    """Exclusions that run `fn` each time the kernel iterates them."""

    def __init__(self, fn: Callable[[], object], slots: Collection[int] = ()) -> None:
        self.fn = fn
        self.slots = slots

    def __iter__(self) -> Iterator[int]:
        self.fn()
        return iter(self.slots)

    def __len__(self) -> int:
        return len(self.slots)

    def __contains__(self, x: object) -> bool:
        return x in self.slots


def test_batch_buffers_belong_to_their_index(k: ModuleType) -> None:
    # Batches on two indexes interleave, and run from inside another batch on the same index or
    # the other one (a task's exclusions are Python code): each answer is the one it gets alone.
    ix, tasks = random_batch(k, random.Random(3), 60, 90)
    other, other_tasks = random_batch(k, random.Random(4), 50, 70)
    want, other_want = k.batch_match(ix, tasks, 100.0), k.batch_match(other, other_tasks, 100.0)
    inner: list[list[int]] = []

    def meddle() -> None:
        inner.append(k.batch_match(ix, tasks, 100.0))
        inner.append(k.batch_match(other, other_tasks, 100.0))

    meddled = list(tasks)
    meddled[45] = (*tasks[45][:9], Meddler(meddle, tasks[45][9]))
    assert k.batch_match(ix, meddled, 100.0) == k.batch_match(ix, tasks, 100.0) == want
    assert inner == [want, other_want]
    assert k.batch_match(other, other_tasks, 100.0) == other_want


def test_index_may_grow_under_a_running_call(k: ModuleType) -> None:
    # A task's exclusions add agents far past the index's size, so its arrays move while the
    # call runs: the call reads them afresh, and the new agents (not routable) change nothing.
    ix, tasks = random_batch(k, random.Random(5), 60, 90)
    want = k.batch_match(ix, tasks, 100.0)
    query = (*tasks[0][:6], 100.0)
    ranked = ix.rank(*query, (), 10)
    slots = iter(range(1000, 10**6, 3000))

    def grow() -> None:
        ix.set_agent(next(slots), [0] * S, 1, 100, CAPS)

    meddled = [(*t[:9], Meddler(grow, t[9])) if i % 10 == 0 else t for i, t in enumerate(tasks)]
    assert k.batch_match(ix, meddled, 100.0) == want
    assert ix.rank(*query, Meddler(grow), 10) == ranked


@pytest.mark.parametrize("n_tasks", [90, 300])  # 300: half of the tasks on a second thread
def test_every_task_is_read_before_agents_are_listed(k: ModuleType, n_tasks: int) -> None:
    # The last task's exclusions take an agent away: no task of the batch gets that agent.
    ix, tasks = random_batch(k, random.Random(9), 60, n_tasks)
    gone = next(a for a in k.batch_match(ix, tasks, 100.0) if a >= 0)
    meddled = [*tasks[:-1], (*tasks[-1][:9], Meddler(lambda: leave(ix, gone), tasks[-1][9]))]
    got = k.batch_match(ix, meddled, 100.0)
    assert gone not in got
    assert got == k.batch_match(ix, tasks, 100.0)


def leave(ix: Any, a: int) -> None:
    ix.set_presence(a, False, 1000.0, 0.0)


@pytest.mark.parametrize("at", [0, 299])  # in the first and in the second half of the tasks
def test_batch_refuses_pair_scores_out_of_range(k: ModuleType, at: int) -> None:
    _, tasks = random_batch(k, random.Random(10), 60, 300)
    weights = (W_FIT, W_LOAD, W_IDLE, W_SLA, 50.0)
    big = k.AgentIndex(S, COSTS, BLOCKS, INTERRUPTIBLE_BY, weights, HALF_LIFE)
    for a in range(6):
        big.set_agent(a, [2] * S, 1, 100, CAPS)
        big.set_presence(a, True, 1000.0, 0.0)
    tasks = [(*t[:5], 0, t[6], *t[7:]) for t in tasks]
    assert k.batch_match(big, tasks, 100.0)  # priorities up to 10 stay in range
    tasks[at] = (*tasks[at][:6], 10**6, *tasks[at][7:])  # 50 * 10**6 / 10: past 2**31 / 10**4
    with pytest.raises(ValueError, match="out of range"):
        k.batch_match(big, tasks, 100.0)


def test_many_exclusions(k: ModuleType) -> None:
    ix, tasks = random_batch(k, random.Random(6), 60, 40)
    query = (*tasks[0][:6], 100.0)
    out = [-5, 10**30, *range(0, 100, 2)]
    assert ix.rank(*query, out, 100) == [a for a in ix.rank(*query, (), 100) if a % 2][:100]
    want = k.batch_match(ix, [(*t[:9], range(0, 60, 2)) for t in tasks], 100.0)
    assert want == k.batch_match(ix, [(*t[:9], out) for t in tasks], 100.0)
    assert all(a < 0 or a % 2 for a in want)


@pytest.mark.parametrize("schedule", [(2, 1, 2), (8, 8, 3), (3, 10**6, 16)])
@pytest.mark.parametrize("seed", range(10))
def test_batch_exact_under_any_schedule(
    monkeypatch: pytest.MonkeyPatch, schedule: tuple[int, int, int], seed: int
) -> None:
    # THETA, FIRST_DIV and CACHE are tuned for speed alone; the final epsilon of 1 keeps it exact.
    for name, value in zip(("THETA", "FIRST_DIV", "CACHE"), schedule, strict=True):
        monkeypatch.setattr(auction_py, name, value)
    test_batch_is_optimal_and_maximal(kernel_py, seed)


def test_twins_agree_on_ties() -> None:
    # Identical agents and identical tasks: every bid has ties, broken alike by both kernels.
    if COMPILED is None:
        pytest.skip(NOT_BUILT)
    out = []
    for k in (kernel_py, COMPILED):
        ix = index(k, 40)
        for a in range(40):
            agent(ix, a, [2, 2, 1, 0], idle_since=50.0 if a % 3 else 20.0)
        calm: Task = (CHAT, [0], [1], [1], [2], 0, 3, 20.0, 10.0, ())
        urgent: Task = (CHAT, [0], [1], [1], [2], 0, 7, 20.0, 10.0, ())
        out.append(k.batch_match(ix, [calm] * 30 + [urgent] * 25, 100.0))
    assert out[0] == out[1]
    assert sorted(a for a in out[0] if a >= 0) == list(range(40))


# -- the auction alone, on arbitrary integer rows ----------------------------------------------


def random_rows(
    rng: random.Random, n: int, m: int, top: int
) -> tuple[list[list[tuple[int, int]]], list[list[tuple[int, int]]]]:
    """Rows of `n` persons over `m` agents, benefits 1..top scaled by n + 1, dummies last."""
    rows: list[list[tuple[int, int]]] = []
    cols: list[list[tuple[int, int]]] = [[] for _ in range(m)]
    density = rng.choice((0.1, 0.4, 1.0))
    for i in range(n):
        row = [(j, rng.randint(1, top) * (n + 1)) for j in range(m) if rng.random() < density]
        row = row or [(rng.randrange(m), rng.randint(1, top) * (n + 1))]
        for j, w in row:
            cols[j].append((i, w))
        rows.append([*row, (m + i, 0)])
    return rows, cols


@pytest.mark.parametrize("seed", range(40))
def test_auction_is_optimal(monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    rng = random.Random(seed)
    monkeypatch.setattr(auction_py, "THETA", rng.choice((2, 5, 8)))
    monkeypatch.setattr(auction_py, "FIRST_DIV", rng.choice((1, 7, 4096)))
    n, m = rng.randint(1, 30), rng.randint(1, 30)
    rows, cols = random_rows(rng, n, m, rng.choice((3, 20, 10**6)))
    got = auction_py.Auction(rows, cols, m).solve(max(w for row in rows for _, w in row))
    assert sorted(got) == sorted(set(got))
    assert all(j in dict(rows[i]) for i, j in enumerate(got))
    edges = {i: {j: w // (n + 1) for j, w in rows[i] if j < m} for i in range(n)}
    total = sum(edges[i].get(j, 0) for i, j in enumerate(got))
    assert total == best_total(edges, m)


@pytest.mark.parametrize("seed", range(40))
def test_auction_answer_ignores_the_cache(monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    # Bids rebuild a cache that could answer differently from a scan of the whole row: so the
    # compiled kernel, whose caches differ from the twin's, bids exactly like it.
    rng = random.Random(seed)
    n, m = rng.randint(1, 30), rng.randint(1, 30)
    rows, cols = random_rows(rng, n, m, rng.choice((2, 3, 20)))  # small benefits: many ties
    answers = []
    for cache in (2, 3, 7, 10**9):
        monkeypatch.setattr(auction_py, "CACHE", cache)
        auction = auction_py.Auction(rows, cols, m)
        answers.append((auction.solve(max(w for row in rows for _, w in row)), auction.price))
    assert all(a == answers[0] for a in answers)

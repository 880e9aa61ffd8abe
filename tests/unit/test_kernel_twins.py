"""The compiled kernel equals its pure-Python twin, to the last bit, on seeded random cases."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest

from native import kernel_py
from native.batch_py import Task
from tests.unit.kernel_kit import COMPILED, NOT_BUILT

pytestmark = pytest.mark.skipif(COMPILED is None, reason=NOT_BUILT)

# Each seed replays one random scenario on both kernels; every answer is recorded and compared.
SEEDS = range(300)


class Recorder:
    """Runs calls on one kernel and records each answer, or the type of error it raised."""

    def __init__(self) -> None:
        self.log: list[object] = []

    def __call__(self, fn: Callable[..., object], *args: Any) -> None:
        try:
            out = fn(*args)
        except (KeyError, ValueError, OverflowError) as exc:
            self.log.append(type(exc).__name__)
            return
        if isinstance(out, tuple):
            out = tuple(x.hex() if isinstance(x, float) else x for x in out)  # bit for bit
        self.log.append(out)


def terms(rng: random.Random, n_skills: int, most: int, top: int) -> tuple[list[int], list[int]]:
    skills = [rng.randrange(n_skills) for _ in range(rng.randint(0, most))]
    return skills, [rng.randint(0, top) for _ in skills]


def make_index(rng: random.Random, k: ModuleType) -> tuple[Any, int, int]:
    n_skills, n_channels = rng.randint(1, 12), rng.randint(1, 5)
    ix = k.AgentIndex(
        n_skills,
        [rng.choice((0, 20, 25, 50, 100)) for _ in range(n_channels)],
        [rng.randrange(1 << n_channels) for _ in range(n_channels)],
        [rng.randrange(1 << n_channels) for _ in range(n_channels)],
        [rng.choice((0.0, 1.0, rng.random() * 3)) for _ in range(5)],
        rng.choice((0.5, 60.0, 1e4)),
        rng.randint(0, 70),
    )
    return ix, n_skills, n_channels


def mutate(rng: random.Random, ix: Any, a: int, n_skills: int, n_channels: int) -> None:
    r = rng.random()
    if r < 0.25:
        levels = [rng.choice((0, 0, 0, 1, 2, 3, 4, 5)) for _ in range(n_skills)]
        caps = [rng.randint(0, 4) for _ in range(n_channels)]
        ix.set_agent(a, levels, rng.randrange(8), rng.choice((0, 40, 100, 250)), caps)
    elif r < 0.65:
        lease = rng.choice((20.0, 150.0, math.inf))
        ix.set_presence(a, rng.random() < 0.85, lease, rng.choice((0.0, rng.uniform(0, 200))))
    elif r < 0.95:
        ix.add_load(a, rng.randrange(n_channels), rng.choice((-1, 1, 1, 2)))
    else:
        ix.remove_agent(a)


def agent_side(rng: random.Random, k: ModuleType, rec: Recorder) -> Any:
    ix, n_skills, n_channels = make_index(rng, k)
    n_agents = rng.randint(1, 200)
    for a in range(n_agents):
        if rng.random() < 0.9:
            levels = [rng.choice((0, 0, 1, 2, 3, 4, 5)) for _ in range(n_skills)]
            ix.set_agent(a, levels, rng.randrange(8), 100, [rng.randint(1, 4)] * n_channels)
            ix.set_presence(a, rng.random() < 0.8, math.inf, rng.uniform(0.0, 200.0))
    for _ in range(rng.randint(1, 400)):
        a = rng.randrange(n_agents)
        rec(mutate, rng, ix, a, n_skills, n_channels)
        if rng.random() < 0.7:
            continue
        ch, now, g = rng.randrange(n_channels), rng.uniform(0.0, 250.0), rng.randrange(8)
        sk, lv = terms(rng, n_skills, 5, 3)  # past 3 required rows: the mask's general case
        ps, pl = terms(rng, n_skills, 2, 5)
        ex = {rng.randrange(n_agents) for _ in range(rng.randint(0, 3))}
        kk = rng.choice((0, 1, 3, 10, 10**6))
        rec(ix.rank, ch, sk, lv, ps, pl, g, now, ex, kk)
        rec(ix.eligible, a, ch, sk, lv, g, now)
        rec(ix.parts, a, ch, sk, lv, ps, pl, now)
        rec(ix.load, a)
        rec(ix.count, a, ch)
        rec(ix.ready, a, ch)
    return ix, n_skills, n_channels, n_agents


def task_side(rng: random.Random, k: ModuleType, rec: Recorder, world: Any) -> None:
    ix, n_skills, n_channels, n_agents = world
    tb = k.TaskBoard(ix, rng.randint(0, 8))
    n_buckets = rng.randint(1, 60)
    for _ in range(rng.randint(1, 150)):
        b = rng.randrange(n_buckets)
        sk, lv = terms(rng, n_skills, 3, 3)
        ps, pl = terms(rng, n_skills, 2, 5)
        r = rng.random()
        if r < 0.4:
            ch, g, prio, target = (
                rng.randrange(n_channels),
                rng.randrange(8),
                rng.randint(0, 10),
                rng.choice((5.0, 20.0)),
            )
            rec(tb.set_bucket, b, ch, sk, lv, ps, pl, g, prio, target)
        elif r < 0.9:
            rec(tb.set_head, b, rng.choice((math.inf, rng.uniform(0.0, 200.0))))
        else:
            rec(tb.clear_bucket, b)
    for a in range(n_agents):
        now, kk = rng.uniform(0.0, 250.0), rng.choice((0, 1, 3, 100))
        rec(tb.rank, a, now, kk)


def batch_side(rng: random.Random, k: ModuleType, rec: Recorder, world: Any) -> None:
    ix, n_skills, n_channels, n_agents = world
    tasks: list[Task] = []
    for _ in range(rng.randint(0, 40)):
        sk, lv = terms(rng, n_skills, 2, 2)
        ps, pl = terms(rng, n_skills, 2, 5)
        ex = [rng.randrange(n_agents) for _ in range(rng.randint(0, 2))]
        since = rng.uniform(0.0, 250.0)
        spec = (rng.randrange(n_channels), sk, lv, ps, pl, rng.randrange(8), rng.randint(0, 10))
        tasks.append((*spec, rng.choice((1.0, 20.0)), since, ex))
    rec(k.batch_match, ix, tasks, rng.uniform(100.0, 300.0))


def replay(k: ModuleType, seed: int) -> list[object]:
    rng = random.Random(seed)
    rec = Recorder()
    world = agent_side(rng, k, rec)
    task_side(rng, k, rec, world)
    batch_side(rng, k, rec, world)
    return rec.log


@pytest.mark.parametrize("seed", SEEDS)
def test_twins_agree(seed: int) -> None:
    assert COMPILED is not None
    twin, compiled = replay(kernel_py, seed), replay(COMPILED, seed)
    assert len(twin) == len(compiled)
    for i, (want, got) in enumerate(zip(twin, compiled, strict=True)):
        assert got == want, f"seed {seed}, answer {i}"


@pytest.fixture
def inline_popcount() -> Iterator[None]:
    """The compiled kernel counting candidates without the POPCNT instruction."""
    assert COMPILED is not None
    if COMPILED.hardware_popcount(False) is None:
        pytest.skip("this build chose its popcount when it was compiled")
    try:
        yield
    finally:
        COMPILED.hardware_popcount(True)


@pytest.mark.parametrize("seed", range(0, 300, 5))
def test_twins_agree_with_the_inline_popcount(seed: int, inline_popcount: None) -> None:
    assert COMPILED is not None
    assert replay(COMPILED, seed) == replay(kernel_py, seed)


def free_agents(
    k: ModuleType, r: random.Random, n: int, levels: tuple[int, ...], n_skills: int
) -> Any:
    """An index of n agents, all present, on one channel, with levels drawn from `levels`."""
    ix = k.AgentIndex(n_skills, [25], [0], [0], [0.4, 0.2, 0.4, 1.0, 0.5], 60.0)
    for a in range(n):
        ix.set_agent(a, [r.choice(levels) for _ in range(n_skills)], 1, 100, [4])
        ix.set_presence(a, True, 1e9, r.uniform(0.0, 100.0))
    return ix


def test_twins_agree_on_a_big_batch() -> None:
    assert COMPILED is not None
    out = []
    for k in (kernel_py, COMPILED):
        r = random.Random(7)
        ix = free_agents(k, r, 150, (0, 1, 2, 3), 6)
        tasks: list[Task] = []
        for _ in range(150):
            sk = r.sample(range(6), 2)
            spec = (0, sk, [1, 1], [r.randrange(6)], [3], 0, r.randint(0, 10), 20.0)
            tasks.append((*spec, r.uniform(0.0, 100.0), ()))
        out.append(k.batch_match(ix, tasks, 100.0))
    assert out[0] == out[1]
    assert sum(a >= 0 for a in out[0]) > 100


def test_twins_agree_on_a_batch_with_columns_filled_meanwhile() -> None:
    # Past 16,384 pairs (THREAD_PAIRS in native/_columns.pxi) the compiled kernel fills the
    # auction's columns on a second thread while the first bids run.
    assert COMPILED is not None
    out, n_pairs = [], []
    for k in (kernel_py, COMPILED):
        r = random.Random(8)
        ix = free_agents(k, r, 240, (0, 1, 1, 2), 4)
        tasks: list[Task] = []
        for _ in range(200):
            spec = (0, [r.randrange(4)], [1], [r.randrange(4)], [2], 0, r.randint(0, 10), 20.0)
            tasks.append((*spec, r.uniform(0.0, 100.0), ()))
        n_pairs.append(sum(len(ix.rank(*t[:6], 100.0, (), 10**9)) for t in tasks))
        out.append(k.batch_match(ix, tasks, 100.0))
    assert n_pairs[0] == n_pairs[1] > 16384
    assert out[0] == out[1]
    assert sum(a >= 0 for a in out[0]) > 150


def many_free_agents(k: ModuleType) -> list[object]:
    """Ranks over 3,000 agents, most of them eligible, while their idle times and loads move."""
    r = random.Random(11)
    rec = Recorder()
    ix = k.AgentIndex(4, [25, 50], [0, 0], [0, 0], [0.4, 0.2, 0.4, 1.0, 0.5], 60.0)
    for a in range(3000):
        ix.set_agent(a, [r.choice((1, 2, 3)), r.choice((0, 1, 2)), 0, 1], 1 + (a & 1), 100, [4, 1])
        ix.set_presence(a, r.random() < 0.95, r.choice((50.0, 1e9)), r.uniform(0.0, 100.0))
    for _ in range(60):
        for a in r.sample(range(3000), 40):
            if r.random() < 0.5:
                rec(ix.set_presence, a, True, 1e9, r.choice((r.uniform(0.0, 120.0), math.inf)))
            else:
                rec(ix.add_load, a, r.randrange(2), r.choice((-1, 1)))
        now, ex = r.uniform(60.0, 120.0), set(r.sample(range(3000), 3))
        channel, pref_level, groups = r.randrange(2), r.randint(0, 2), r.choice((0, 1, 3))
        rec(ix.rank, channel, [0], [1], [1], [pref_level], groups, now, ex, 3)
        rec(ix.rank, 0, [], [], [], [], 0, now, (), r.choice((1, 50)))
    return rec.log


def test_twins_agree_when_most_of_many_agents_are_eligible() -> None:
    assert COMPILED is not None
    assert many_free_agents(COMPILED) == many_free_agents(kernel_py)


def rare_preferred_skills(k: ModuleType) -> list[object]:
    """Ranks preferring skills few or none of 2,000 eligible agents hold, over 70 skills,
    while agents change skills (some keeping their level total), loads and idle times."""
    r = random.Random(13)
    rec = Recorder()
    n_skills = 70
    rows: list[list[int]] = []

    def levels() -> list[int]:
        row = [0] * n_skills
        row[0] = r.randint(1, 3)
        for s in r.sample(range(4, n_skills), 4):
            row[s] = r.randint(1, 5)
        if r.random() < 0.05:
            row[r.choice((1, 66))] = r.randint(1, 5)  # the rare ones; skill 2 nobody has
        return row

    def moved(row: list[int]) -> list[int]:
        """The same levels with one skill's level moved to another: the total is kept."""
        new = list(row)
        src = r.choice([s for s in range(1, n_skills) if row[s]])
        dst = r.choice([1, 66, *(s for s in range(4, n_skills) if not row[s])])
        new[src], new[dst] = 0, row[dst] + row[src]
        return new if new[dst] <= 5 else row

    ix = k.AgentIndex(n_skills, [25], [0], [0], [0.4, 0.2, 0.4, 1.0, 0.5], 60.0)
    for a in range(2000):
        rows.append(levels())
        ix.set_agent(a, rows[a], 1, 100, [4])
        ix.set_presence(a, True, 1e9, r.uniform(0.0, 100.0))
    for _ in range(40):
        for a in r.sample(range(2000), 30):
            x = r.random()
            if x < 0.4:
                rows[a] = moved(rows[a]) if x < 0.2 else levels()
                rec(ix.set_agent, a, rows[a], 1, 100, [4])
            elif x < 0.7:
                rec(ix.set_presence, a, r.random() < 0.9, 1e9, r.uniform(0.0, 120.0))
            else:
                rec(ix.add_load, a, 0, r.choice((-1, 1)))
        now = r.uniform(100.0, 120.0)
        for pref in ([66], [1], [2], [66, 1], [r.randrange(4, n_skills)]):
            pref_levels = [r.randint(1, 5) for _ in pref]
            rec(ix.rank, 0, [0], [1], pref, pref_levels, 0, now, (), r.choice((1, 3, 20)))
    return rec.log


def test_twins_agree_when_few_agents_hold_the_preferred_skills() -> None:
    assert COMPILED is not None
    assert rare_preferred_skills(COMPILED) == rare_preferred_skills(kernel_py)

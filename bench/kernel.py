"""Routing-kernel benchmark: compiled vs twin vs a NumPy full scan, on synthetic center data."""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt

import native
from native import kernel_py
from native.batch_py import Task

N_SKILLS = 64
# voice, chat, e-mail, messenger: cost units, per-agent caps; a call blocks the rest and an
# e-mail may be interrupted by a call.
COSTS = (100, 25, 20, 25)
CAPS = (1, 3, 5, 3)
BLOCKS = (0b1110, 0, 0, 0)
INTERRUPTIBLE_BY = (0, 0, 0b0001, 0)
WEIGHTS = (0.4, 0.2, 0.4, 1.0, 0.5)
HALF_LIFE = 60.0
CAPACITY = 100
NOW = 10_000.0
# Skills 0..3 are languages held by 90/50/10/5 % of agents; 4..63 are products and topics whose
# popularity falls off as 1/rank: a few common ones, many rare ones.
LANGUAGES = (0.9, 0.5, 0.1, 0.05)
TOPICS = range(len(LANGUAGES), N_SKILLS)
TOPIC_WEIGHTS = [1.0 / (r + 1) for r in range(len(TOPICS))]

# rank arguments: (channel, skills, levels, pref_skills, pref_levels, groups, now, exclude, k)
RankArgs = tuple[int, list[int], list[int], list[int], list[int], int, float, tuple[int, ...], int]


@dataclass(frozen=True, slots=True)
class Agent:
    levels: list[int]
    groups: int
    routable: bool
    idle_since: float
    chats: int  # chats already in hand


def make_agents(n: int, seed: int, routable: float) -> list[Agent]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        levels = [0] * N_SKILLS
        for s in [s for s, p in enumerate(LANGUAGES) if rng.random() < p] or [0]:
            levels[s] = rng.randint(2, 5)
        for s in rng.choices(TOPICS, TOPIC_WEIGHTS, k=rng.randint(3, 8)):
            levels[s] = rng.choice((1, 2, 2, 3, 3, 3, 4, 4, 5))
        idle_since = NOW - rng.uniform(0.0, 600.0)
        chats = int(rng.random() < 0.3)
        out.append(Agent(levels, 1 << rng.randrange(4), rng.random() < routable, idle_since, chats))
    return out


def build_index(kernel: ModuleType, agents: Sequence[Agent]) -> Any:
    """An AgentIndex of `kernel` (native.kernel_py or native._kernel) holding `agents`."""
    index = kernel.AgentIndex(
        N_SKILLS, COSTS, BLOCKS, INTERRUPTIBLE_BY, WEIGHTS, HALF_LIFE, len(agents)
    )
    for a, ag in enumerate(agents):
        index.set_agent(a, ag.levels, ag.groups, CAPACITY, CAPS)
        index.set_presence(a, ag.routable, NOW + 30.0, ag.idle_since)
        if ag.chats:
            index.add_load(a, 1, ag.chats)
    return index


def task_terms(rng: random.Random) -> tuple[list[int], list[int], list[int], list[int]]:
    """A language and one or two topics at levels 1..3; one preferred topic at level 4."""
    lang = rng.choices(range(len(LANGUAGES)), LANGUAGES)[0]
    skills = list(dict.fromkeys([lang, *rng.choices(TOPICS, TOPIC_WEIGHTS, k=rng.randint(1, 2))]))
    return skills, [rng.randint(1, 3) for _ in skills], rng.choices(TOPICS, TOPIC_WEIGHTS), [4]


def make_tasks(n: int, seed: int, k: int = 3) -> list[RankArgs]:
    rng = random.Random(seed)
    out: list[RankArgs] = []
    for _ in range(n):
        skills, levels, ps, pl = task_terms(rng)
        out.append((rng.randrange(len(COSTS)), skills, levels, ps, pl, 0, NOW, (), k))
    return out


def compiled_kernel() -> ModuleType:
    try:
        from native import _kernel  # noqa: PLC0415 - only the measuring needs it, not --help
    except ImportError as exc:
        raise SystemExit(
            "native._kernel is not built: python setup.py build_ext --inplace"
        ) from exc
    return _kernel


class NumpyScan:
    """The baseline: the same eligibility and scoring, vectorized over every agent."""

    def __init__(self, index: Any, agents: Sequence[Agent]) -> None:
        n = len(agents)
        # Skill-major, so that each skill's column is contiguous: the baseline's best layout.
        self.by_skill = np.array([ag.levels for ag in agents], dtype=np.uint8).T.copy()
        self.ready = np.array([[index.ready(a, c) for c in range(len(COSTS))] for a in range(n)])
        self.lease = np.full(n, NOW + 30.0)
        self.groups = np.array([ag.groups for ag in agents], dtype=np.uint64)
        self.total = self.by_skill.sum(axis=0, dtype=np.int64)
        used = np.array([index.load(a) for a in range(n)], dtype=np.int64)
        self.load = np.clip(1.0 - used / CAPACITY, 0.0, 1.0)
        self.idle_since = np.array([ag.idle_since for ag in agents])

    def best(self, args: RankArgs) -> int:
        channel, skills, levels, ps, pl, groups, now, exclude, _ = args
        ok = self.ready[:, channel] & (self.lease >= now)
        for s, lv in zip(skills, levels, strict=True):
            ok &= self.by_skill[s] >= lv
        if groups:
            ok &= (self.groups & np.uint64(groups)) != 0
        ok[list(exclude)] = False
        need = np.full(len(ok), sum(levels), dtype=np.int64)
        for s, lv in zip(ps, pl, strict=True):
            need += np.minimum(self.by_skill[s], lv)
        safe = np.where(self.total > 0, self.total, 1)
        fit = np.where(self.total > 0, np.minimum(1.0, need / safe), 1.0)
        d = now - self.idle_since
        idle = np.where(d > 0.0, d / (np.maximum(d, 0.0) + HALF_LIFE), 0.0)
        w_fit, w_load, w_idle = WEIGHTS[:3]
        score: npt.NDArray[np.float64] = w_fit * fit + w_load * self.load + w_idle * idle
        score[~ok] = -np.inf
        a = int(np.argmax(score))
        return a if ok[a] else -1


def timer_overhead_ns() -> float:
    pc = time.perf_counter_ns
    samples = []
    for _ in range(20_000):
        t0 = pc()
        samples.append(pc() - t0)
    return statistics.median(samples)


def batch_median_ns(fn: Callable[..., object], calls: Sequence[Sequence[Any]]) -> float:
    """The median time of one call over one batch of `calls`."""
    pc = time.perf_counter_ns
    samples = []
    for args in calls:
        t0 = pc()
        fn(*args)
        samples.append(pc() - t0)
    return statistics.median(samples)


def median_us(fn: Callable[..., object], calls: Sequence[Sequence[Any]], batches: int) -> float:
    """Median over `batches` of the median time of one call, cycling through `calls`."""
    return statistics.median(batch_median_ns(fn, calls) for _ in range(batches)) / 1000.0


@dataclass
class RankWorld:
    """One row of the rank table: the three implementations over the same agents and tasks."""

    n_agents: int
    tasks: list[RankArgs]
    compiled: Any
    twin: Any
    scan: NumpyScan
    times: dict[str, list[float]]

    @classmethod
    def make(cls, n_agents: int) -> RankWorld:
        agents = make_agents(n_agents, seed=n_agents, routable=0.3)
        tasks = make_tasks(300, seed=7)
        compiled = build_index(compiled_kernel(), agents)
        twin = build_index(kernel_py, agents)
        scan = NumpyScan(compiled, agents)
        for args in tasks:
            ranked = compiled.rank(*args)
            best = ranked[0] if ranked else -1
            if scan.best(args) != best or twin.rank(*args) != ranked:
                raise AssertionError(f"implementations disagree on {args}")
        return cls(n_agents, tasks, compiled, twin, scan, {"c": [], "t": [], "n": []})

    def time_compiled(self) -> None:
        self.times["c"].append(batch_median_ns(self.compiled.rank, self.tasks))

    def time_slow(self) -> None:
        """A batch of the twin and of the NumPy scan, on fewer tasks past 10,000 agents."""
        big = self.n_agents >= 100_000
        self.times["t"].append(batch_median_ns(self.twin.rank, self.tasks[: 50 if big else 300]))
        calls = [(t,) for t in self.tasks[: 100 if big else 300]]
        self.times["n"].append(batch_median_ns(self.scan.best, calls))

    def row(self) -> dict[str, Any]:
        c_us, t_us, n_us = (statistics.median(self.times[k]) / 1000.0 for k in "ctn")
        return {
            "agents": self.n_agents,
            "compiled_us": round(c_us, 3),
            "twin_us": round(t_us, 1),
            "numpy_us": round(n_us, 1),
            "speedup_vs_numpy": round(n_us / c_us, 1),
            "eligible_median": statistics.median(
                len(self.compiled.rank(*t[:8], 10**9)) for t in self.tasks
            ),
        }


def measure_rank(sizes: Sequence[int], quick: bool) -> list[dict[str, Any]]:
    """The rank table. Every size and implementation is timed in the same rounds, one batch
    each per round, so that a spell of a slower machine weighs on all of them alike rather
    than on whichever was timed then; the twin and the scan, slow, in every seventh round."""
    worlds = [RankWorld.make(n) for n in sizes]
    rounds = 5 if quick else 21
    for r in range(rounds):
        for world in worlds:
            world.time_compiled()
            if r % 7 == 0:
                world.time_slow()
    return [world.row() for world in worlds]


def board_world(kernel: ModuleType) -> tuple[Any, list[tuple[int, float, int]]]:
    """A TaskBoard over 10,000 waiting tasks in 50 queues, and TaskBoard.rank calls for it."""
    rng = random.Random(11)
    index = build_index(kernel, make_agents(1000, seed=3, routable=1.0))
    board = kernel.TaskBoard(index)
    queues = [
        (rng.randrange(len(COSTS)), *task_terms(rng), rng.choice((20.0, 60.0))) for _ in range(50)
    ]
    heads: dict[tuple[int, int], float] = {}
    for _ in range(10_000):
        key = (rng.randrange(len(queues)), rng.randrange(5))
        heads[key] = min(heads.get(key, np.inf), NOW - rng.uniform(0.0, 300.0))
    # A bucket is (queue, priority); its head, the oldest task, dominates the rest of it.
    for b, ((q, prio), since) in enumerate(sorted(heads.items())):
        channel, skills, levels, ps, pl, target = queues[q]
        board.set_bucket(b, channel, skills, levels, ps, pl, 0, prio, target)
        board.set_head(b, since)
    return board, [(a, NOW, 3) for a in range(0, 1000, 3)]


def batch_world(kernel: ModuleType) -> tuple[Any, list[Task]]:
    """1,000 free agents and 1,000 waiting tasks, for batch_match."""
    rng = random.Random(5)
    index = build_index(kernel, make_agents(1000, seed=1, routable=1.0))
    tasks: list[Task] = []
    for args in make_tasks(1000, seed=9):
        channel, skills, levels, ps, pl = args[:5]
        since = NOW - rng.uniform(0.0, 120.0)
        tasks.append((channel, skills, levels, ps, pl, 0, rng.randint(0, 10), 20.0, since, ()))
    return index, tasks


def measure_agent_to_task(quick: bool) -> float:
    board, calls = board_world(compiled_kernel())
    return median_us(board.rank, calls, 5 if quick else 21)


def measure_batch(quick: bool) -> tuple[float, int]:
    """batch_match of 1,000 tasks and 1,000 free agents: (median ms, eligible pairs)."""
    kernel = compiled_kernel()
    index, tasks = batch_world(kernel)
    pairs = sum(len(index.rank(*t[:6], NOW, (), 10**9)) for t in tasks)
    times = []
    for _ in range(3 if quick else 9):
        t0 = time.perf_counter_ns()
        kernel.batch_match(index, tasks, NOW)
        times.append(time.perf_counter_ns() - t0)
    return statistics.median(times) / 1e6, pairs


# What --json prints, exactly: the table's extra columns stay out of it.
JSON_KEYS = ("rows", "agent_to_task_us", "batch_1000_ms", "engine_per_s")
JSON_ROW = ("agents", "compiled_us", "twin_us", "numpy_us", "speedup_vs_numpy")


def engine_per_s() -> float | None:
    try:
        from bench.engine import measure_engine  # noqa: PLC0415 - written separately; optional
    except ImportError:
        return None
    return float(measure_engine())


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def run(quick: bool) -> dict[str, Any]:
    rows = measure_rank((1_000, 10_000, 100_000), quick)
    agent_to_task = measure_agent_to_task(quick)
    batch_ms, pairs = measure_batch(quick)
    return {
        "rows": rows,
        "agent_to_task_us": round(agent_to_task, 3),
        "batch_1000_ms": round(batch_ms, 2),
        "batch_pairs": pairs,
        "engine_per_s": engine_per_s(),
    }


def report(result: dict[str, Any], overhead_ns: float) -> None:
    print(f"kernel: {native.KERNEL_IMPL}; CPU: {cpu_model()}; Python {platform.python_version()}")
    print(f"timer: {overhead_ns / 1000:.3f} us per timed call, included in every figure")
    print("rank, k=3, median us per decision (median of batch medians)")
    head = ("agents", "eligible", "compiled", "twin", "numpy", "numpy/compiled", "twin/compiled")
    print("".join(f"{h:>15}" for h in head))
    for r in result["rows"]:
        cells = (
            f"{r['agents']:,}", f"{r['eligible_median']:g}", f"{r['compiled_us']:.3f}",
            f"{r['twin_us']:.1f}", f"{r['numpy_us']:.1f}", f"{r['speedup_vs_numpy']:.1f}x",
            f"{r['twin_us'] / r['compiled_us']:.0f}x",
        )  # fmt: skip
        print("".join(f"{c:>15}" for c in cells))
    _, mid, last = result["rows"]
    print(f"100,000 / 10,000 agents: {last['compiled_us'] / mid['compiled_us']:.1f}x")
    print(f"agent_to_task (10,000 tasks, 50 queues): {result['agent_to_task_us']:.3f} us")
    print(f"batch_match 1,000 x 1,000 ({result['batch_pairs']:,} eligible pairs): "
          f"{result['batch_1000_ms']:.2f} ms")  # fmt: skip
    eng = result["engine_per_s"]
    print(f"engine: {'n/a' if eng is None else f'{eng:,.0f} interactions/s'}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.kernel", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args(argv)
    compiled_kernel()
    overhead = timer_overhead_ns()
    result = run(args.quick)
    if args.json:
        rows = [{k: r[k] for k in JSON_ROW} for r in result["rows"]]
        print(json.dumps({k: rows if k == "rows" else result[k] for k in JSON_KEYS}))
    else:
        report(result, overhead)


if __name__ == "__main__":
    main()

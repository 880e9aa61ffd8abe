"""pytest-benchmark versions of python -m bench.kernel: pytest bench/test_kernel_bench.py."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from bench import kernel as kb
from native import kernel_py

_kernel = pytest.importorskip("native._kernel", reason="native._kernel is not built")

KERNELS = [pytest.param(_kernel, id="c-kernel"), pytest.param(kernel_py, id="py-kernel")]
SIZES = [1_000, 10_000, 100_000]


@pytest.fixture(scope="module", params=SIZES, ids=lambda n: f"{n}-agents")
def agents(request: pytest.FixtureRequest) -> list[kb.Agent]:
    n: int = request.param
    return kb.make_agents(n, seed=n, routable=0.3)


@pytest.fixture(scope="module")
def tasks() -> list[kb.RankArgs]:
    return kb.make_tasks(300, seed=7)


def cycling(fn: Callable[..., object], calls: list[Any]) -> Callable[[], object]:
    """One call per round, a different task each time, as bench.kernel cycles through them."""
    it = itertools.cycle(calls)
    return lambda: fn(*next(it))


@pytest.mark.parametrize("kernel", KERNELS)
def test_rank(
    benchmark: BenchmarkFixture,
    kernel: ModuleType,
    agents: list[kb.Agent],
    tasks: list[kb.RankArgs],
) -> None:
    index = kb.build_index(kernel, agents)
    benchmark(cycling(index.rank, tasks))


def test_rank_numpy_full_scan(
    benchmark: BenchmarkFixture, agents: list[kb.Agent], tasks: list[kb.RankArgs]
) -> None:
    scan = kb.NumpyScan(kb.build_index(_kernel, agents), agents)
    benchmark(cycling(scan.best, [(t,) for t in tasks]))


@pytest.mark.parametrize("kernel", KERNELS)
def test_agent_to_task(benchmark: BenchmarkFixture, kernel: ModuleType) -> None:
    board, calls = kb.board_world(kernel)
    benchmark(cycling(board.rank, calls))


def test_batch_1000(benchmark: BenchmarkFixture) -> None:
    index, tasks = kb.batch_world(_kernel)
    out = benchmark(_kernel.batch_match, index, tasks, kb.NOW)
    assert sum(a >= 0 for a in out) > 500

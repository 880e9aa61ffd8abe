"""The GC policy: collections leave their survivors frozen; compactions free frozen cycles."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Callable, Iterator

import pytest

from router.gc_policy import GcPolicy


class Cycle:
    """An object that refers to itself: only the cycle collector frees it."""

    def __init__(self) -> None:
        self.me = self


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def scheduled() -> list[Callable[[], None]]:
    return []


@pytest.fixture
def policy(clock: Clock, scheduled: list[Callable[[], None]]) -> Iterator[GcPolicy]:
    p = GcPolicy(scheduled.append, compact_every=60.0, clock=clock)
    p.install()
    try:
        yield p
    finally:
        p.uninstall()


def _run(scheduled: list[Callable[[], None]]) -> None:
    while scheduled:
        scheduled.pop(0)()


def test_a_young_collection_schedules_a_freeze(
    policy: GcPolicy, scheduled: list[Callable[[], None]]
) -> None:
    gc.collect(0)
    assert len(scheduled) == 1


def test_what_survived_a_young_collection_is_frozen(
    policy: GcPolicy, scheduled: list[Callable[[], None]]
) -> None:
    before = gc.get_freeze_count()
    kept = [Cycle() for _ in range(100)]
    gc.collect(0)
    _run(scheduled)
    assert gc.get_freeze_count() - before >= len(kept)


def test_young_collections_wait_for_the_policys_threshold(policy: GcPolicy) -> None:
    assert gc.get_threshold()[0] == policy.young_threshold


def test_uninstall_gives_back_the_threshold_it_found(clock: Clock) -> None:
    before = gc.get_threshold()
    p = GcPolicy(lambda _: None, clock=clock, young_threshold=before[0] + 1234)
    p.install()
    p.uninstall()
    assert gc.get_threshold() == before


def test_collections_in_a_row_schedule_one_freeze(
    policy: GcPolicy, scheduled: list[Callable[[], None]]
) -> None:
    gc.collect(0)
    gc.collect(1)
    assert len(scheduled) == 1


def test_a_frozen_cycle_waits_for_the_compaction(
    policy: GcPolicy, clock: Clock, scheduled: list[Callable[[], None]]
) -> None:
    cycle = Cycle()
    gone = weakref.ref(cycle)
    policy.settle()  # frozen now
    del cycle
    clock.now = 30.0
    gc.collect()
    policy.settle()
    assert gone() is not None


def test_a_due_compaction_frees_frozen_cycles(policy: GcPolicy, clock: Clock) -> None:
    cycle = Cycle()
    gone = weakref.ref(cycle)
    policy.settle()
    del cycle
    clock.now = 61.0
    policy.settle()
    assert gone() is None

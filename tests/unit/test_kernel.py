"""Behaviour of the routing kernel, run against the twin and the compiled kernel alike."""

from __future__ import annotations

import itertools
import math
import os
import random
import subprocess
import sys
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

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
    WEIGHTS,
    S,
    agent,
    index,
)  # fmt: skip


def rank(
    ix: Any,
    channel: int = CHAT,
    skills: Sequence[int] = (0,),
    *,
    levels: Sequence[int] | None = None,
    pref_skills: Sequence[int] = (),
    pref_levels: Sequence[int] = (),
    groups: int = 0,
    now: float = 100.0,
    exclude: Collection[int] = (),
    k: int = 10,
) -> list[int]:
    lv = [1] * len(skills) if levels is None else levels
    return list(ix.rank(channel, skills, lv, pref_skills, pref_levels, groups, now, exclude, k))


# -- AgentIndex: agents, presence, load, readiness ---------------------------------------------


def test_new_agent_is_unloaded_and_not_routable(k: ModuleType) -> None:
    ix = index(k)
    ix.set_agent(3, [1, 0, 0, 0], 1, 100, CAPS)
    assert ix.load(3) == 0
    assert [ix.ready(3, c) for c in range(3)] == [False, False, False]
    ix.set_presence(3, True, 1000.0, 0.0)
    assert [ix.ready(3, c) for c in range(3)] == [True, True, True]


def test_unknown_slot_raises_key_error(k: ModuleType) -> None:
    ix = index(k)
    calls: list[Callable[[], object]] = [
        lambda: ix.load(5),
        lambda: ix.ready(5, 0),
        lambda: ix.remove_agent(5),
        lambda: ix.set_presence(5, True, 1.0, 1.0),
    ]
    for call in calls:
        with pytest.raises(KeyError):
            call()
    with pytest.raises(ValueError, match="slot"):
        ix.set_agent(-1, [0] * S, 0, 100, CAPS)


def test_storage_grows_past_size_hint(k: ModuleType) -> None:
    ix = index(k, size_hint=1)
    for a in (0, 70, 1000, 4097):
        agent(ix, a, [2, 0, 0, 0], idle_since=float(a))
    assert rank(ix, now=900.0) == [0, 70, 1000, 4097]  # the last two: not idle, a tie


def test_load_counts_cost_per_channel(k: ModuleType) -> None:
    ix = index(k)
    agent(ix, 0, [1, 0, 0, 0])
    ix.add_load(0, EMAIL, 2)
    ix.add_load(0, CHAT, 1)
    assert (ix.load(0), ix.count(0, CHAT), ix.count(0, EMAIL)) == (65, 1, 2)
    with pytest.raises(ValueError, match="below zero"):
        ix.add_load(0, CHAT, -2)
    assert ix.count(0, CHAT) == 1


def test_blocks_caps_and_capacity(k: ModuleType) -> None:
    ix = index(k)
    agent(ix, 0, [1, 0, 0, 0])
    ix.add_load(0, VOICE, 1)
    assert [ix.ready(0, c) for c in range(3)] == [False, False, False]  # cap 1; blocks the rest
    ix.add_load(0, VOICE, -1)
    ix.add_load(0, CHAT, 3)
    assert [ix.ready(0, c) for c in range(3)] == [False, True, True]  # a chat blocks calls
    ix.add_load(0, CHAT, 1)
    assert ix.ready(0, CHAT) is False  # cap of 4 chats reached
    ix.add_load(0, CHAT, -4)
    ix.add_load(0, EMAIL, 5)
    assert ix.ready(0, EMAIL) is False  # cap
    assert ix.ready(0, VOICE) is True  # 100 units used, but e-mail may be interrupted by a call
    ix.add_load(0, EMAIL, -1)
    assert ix.ready(0, CHAT) is False  # 80 + 25 > 100


def test_set_agent_keeps_load_and_presence(k: ModuleType) -> None:
    ix = index(k)
    agent(ix, 0, [1, 0, 0, 0])
    ix.add_load(0, CHAT, 2)
    ix.set_agent(0, [0, 3, 0, 0], 1, 100, CAPS)
    assert (ix.load(0), ix.ready(0, CHAT)) == (50, True)
    assert rank(ix, skills=(1,), levels=[3]) == [0]
    assert rank(ix, skills=(0,)) == []
    ix.set_agent(0, [0, 3, 0, 0], 1, 40, CAPS)
    assert ix.ready(0, CHAT) is False  # 50 + 25 > 40


def test_removed_agent_is_gone_and_comes_back_fresh(k: ModuleType) -> None:
    ix = index(k)
    agent(ix, 0, [1, 0, 0, 0])
    agent(ix, 1, [1, 0, 0, 0])
    ix.add_load(0, CHAT, 1)
    ix.remove_agent(0)
    assert rank(ix) == [1]
    with pytest.raises(KeyError):
        ix.load(0)
    ix.set_agent(0, [1, 0, 0, 0], 1, 100, CAPS)
    assert (ix.load(0), ix.ready(0, CHAT)) == (0, False)


def test_eligible_checks_lease_skills_and_groups(k: ModuleType) -> None:
    ix = index(k)
    ix.set_agent(0, [3, 0, 1, 0], 0b10, 100, CAPS)
    ix.set_presence(0, True, 50.0, 0.0)
    assert ix.eligible(0, CHAT, [0, 2], [3, 1], 0, 50.0)  # lease_until == now still holds
    assert not ix.eligible(0, CHAT, [0, 2], [3, 1], 0, 50.5)
    assert not ix.eligible(0, CHAT, [0], [4], 0, 10.0)
    assert ix.eligible(0, CHAT, [1], [0], 0, 10.0)  # level 0: not required
    assert ix.eligible(0, CHAT, [], [], 0b110, 10.0)
    assert not ix.eligible(0, CHAT, [], [], 0b101, 10.0)
    ix.set_presence(0, False, 50.0, 0.0)
    assert not ix.eligible(0, CHAT, [], [], 0, 10.0)


@pytest.mark.parametrize(
    ("skills", "levels"), [([S], [1]), ([0], [6]), ([0, 1], [1]), ([-1], [1]), ([0] * 65, [1] * 65)]
)
def test_bad_terms_are_refused(k: ModuleType, skills: list[int], levels: list[int]) -> None:
    ix = index(k)
    agent(ix, 0, [1, 0, 0, 0])
    with pytest.raises(ValueError):
        ix.rank(CHAT, skills, levels, (), (), 0, 1.0, (), 1)
    with pytest.raises(ValueError):
        ix.eligible(0, CHAT, skills, levels, 0, 1.0)


def test_bad_arguments_are_refused(k: ModuleType) -> None:
    with pytest.raises(ValueError):
        k.AgentIndex(S, COSTS, BLOCKS, INTERRUPTIBLE_BY, (1.0, 1.0), HALF_LIFE)
    with pytest.raises(ValueError):
        k.AgentIndex(S, COSTS, BLOCKS, INTERRUPTIBLE_BY, WEIGHTS, 0.0)
    with pytest.raises(ValueError):
        k.AgentIndex(S, COSTS, (8, 0, 0), INTERRUPTIBLE_BY, WEIGHTS, HALF_LIFE)
    ix = index(k)
    agent(ix, 0, [1, 0, 0, 0])
    calls: list[Callable[[], object]] = [
        lambda: ix.rank(3, [], [], [], [], 0, 1.0, (), 1),
        lambda: ix.rank(0, [], [], [], [], 0, math.nan, (), 1),
        lambda: ix.set_agent(0, [1, 0, 0], 1, 100, CAPS),
        lambda: ix.set_agent(0, [1, 0, 0, 9], 1, 100, CAPS),
        lambda: ix.set_presence(0, True, math.nan, 0.0),
        lambda: ix.add_load(0, 3, 1),
    ]
    for call in calls:
        with pytest.raises(ValueError):
            call()
    with pytest.raises(OverflowError):
        ix.rank(0, [], [], [], [], -1, 1.0, (), 1)


# -- AgentIndex: scoring and ranking -----------------------------------------------------------


def test_parts_follow_the_formulas(k: ModuleType) -> None:
    ix = index(k)
    agent(ix, 0, [3, 2, 0, 5], idle_since=40.0)
    ix.add_load(0, CHAT, 1)
    fit, load, idle = ix.parts(0, CHAT, [0], [2], [1, 3], [1, 4], 100.0)
    assert fit == (2 + 1 + 4) / 10
    assert load == 1.0 - 25 / 100
    assert idle == 60.0 / (60.0 + HALF_LIFE)
    assert ix.parts(0, CHAT, [0, 1], [3, 2], [3], [5], 10.0) == (1.0, 0.75, 0.0)
    ix.set_agent(1, [0, 0, 0, 0], 1, 0, CAPS)
    assert ix.parts(1, CHAT, [], [], [], [], 10.0) == (1.0, 0.0, 0.0)


def test_rank_orders_by_score_and_breaks_ties_by_slot(k: ModuleType) -> None:
    ix = index(k)
    agent(ix, 4, [1, 0, 0, 0], idle_since=50.0)
    agent(ix, 2, [1, 0, 0, 0], idle_since=50.0)
    agent(ix, 7, [1, 0, 0, 0], idle_since=10.0)  # idle longest
    agent(ix, 1, [5, 5, 5, 5], idle_since=10.0)  # idle as long, a worse fit: a specialist
    assert rank(ix) == [7, 2, 4, 1]
    assert rank(ix, k=2) == [7, 2]
    assert rank(ix, k=0) == []
    assert rank(ix, exclude={7, 4, 99, -3}) == [2, 1]


def test_rank_scores_are_the_weighted_parts(k: ModuleType) -> None:
    rng = random.Random(3)
    ix = index(k)
    for a in range(40):
        agent(ix, a, [rng.randint(0, 5) for _ in range(S)], idle_since=rng.uniform(0, 100))
        ix.add_load(a, CHAT, rng.randint(0, 3))
    ranked = rank(ix, skills=(0,), levels=[1], pref_skills=(1,), pref_levels=[3], k=100)
    scores = []
    for a in ranked:
        fit, load, idle = ix.parts(a, CHAT, [0], [1], [1], [3], 100.0)
        scores.append((-(W_FIT * fit + W_LOAD * load + W_IDLE * idle), a))
    assert [a for _, a in sorted(scores)] == ranked
    assert len(ranked) == sum(ix.eligible(a, CHAT, [0], [1], 0, 100.0) for a in range(40))


def test_rank_checks_groups_and_lease(k: ModuleType) -> None:
    ix = index(k)
    agent(ix, 0, [1, 0, 0, 0], groups=0b01)
    agent(ix, 1, [1, 0, 0, 0], groups=0b10)
    ix.set_presence(1, True, 20.0, 0.0)
    assert rank(ix, groups=0b10, now=10.0) == [1]
    assert rank(ix, groups=0b10, now=30.0) == []
    assert rank(ix, groups=0b11, now=30.0) == [0]


# -- TaskBoard ---------------------------------------------------------------------------------


def board(k: ModuleType) -> tuple[Any, Any]:
    ix = index(k)
    agent(ix, 0, [3, 1, 0, 0], groups=0b01)
    return ix, k.TaskBoard(ix, 2)


def test_board_ranks_by_priority_urgency_and_fit(k: ModuleType) -> None:
    ix, tb = board(k)
    tb.set_bucket(0, CHAT, [0], [1], [], [], 0, 5, 20.0)
    tb.set_bucket(1, CHAT, [0], [1], [], [], 0, 0, 20.0)
    tb.set_bucket(2, CHAT, [0], [1], [], [], 0, 0, 20.0)
    tb.set_bucket(9, CHAT, [0], [1], [1], [1], 0, 0, 20.0)  # grows past the hint
    for b in (0, 1, 2):
        tb.set_head(b, 90.0)
    tb.set_head(9, 90.0)
    # 0: priority; 9: fits better (2/4 vs 1/4); 1 and 2: a tie, broken by bucket id.
    assert tb.rank(0, 100.0, 10) == [0, 9, 1, 2]
    tb.set_head(2, 80.0)
    assert tb.rank(0, 100.0, 2) == [2, 0]
    score = W_PRIO * 0.5 + W_SLA * (10.0 / 20.0) + W_FIT * (1 / 4)
    fit = ix.parts(0, CHAT, [0], [1], [], [], 100.0)[0]
    assert score == W_PRIO * (5 / 10.0) + W_SLA * (10.0 / 20.0) + W_FIT * fit


def test_board_ties_on_score_go_to_the_older_head(k: ModuleType) -> None:
    _, tb = board(k)
    for b in (0, 1):
        tb.set_bucket(b, CHAT, [0], [1], [], [], 0, 3, 20.0)
    tb.set_head(0, 100.0)  # both have waited "0" seconds at now=50: equal scores
    tb.set_head(1, 60.0)
    assert tb.rank(0, 50.0, 2) == [1, 0]


def test_board_skips_what_the_agent_may_not_take(k: ModuleType) -> None:
    ix, tb = board(k)
    specs = [
        (CHAT, [0], [4], 0),  # level too high
        (CHAT, [], [], 0b10),  # other group
        (VOICE, [], [], 0),  # ready for voice, fine
        (CHAT, [1], [1], 0b11),  # fine
        (EMAIL, [], [], 0),  # empty: never given a head
    ]
    for b, (ch, sk, lv, g) in enumerate(specs):
        tb.set_bucket(b, ch, sk, lv, [], [], g, 1, 30.0)
        if b != 4:
            tb.set_head(b, 10.0)
    assert tb.rank(0, 20.0, 10) == [3, 2]
    ix.add_load(0, CHAT, 1)  # a chat blocks calls
    assert tb.rank(0, 20.0, 10) == [3]
    tb.set_head(3, math.inf)
    assert tb.rank(0, 20.0, 10) == []
    ix.set_presence(0, True, 10.0, 0.0)
    tb.set_head(3, 10.0)
    assert tb.rank(0, 20.0, 10) == []  # lease ran out


def test_board_bucket_lifecycle(k: ModuleType) -> None:
    _, tb = board(k)
    tb.set_bucket(0, CHAT, [0], [1], [], [], 0, 1, 30.0)
    tb.set_head(0, 10.0)
    tb.set_bucket(0, CHAT, [0], [2], [], [], 0, 2, 30.0)  # redefined: keeps its head
    assert tb.rank(0, 20.0, 5) == [0]
    tb.clear_bucket(0)
    assert tb.rank(0, 20.0, 5) == []
    with pytest.raises(KeyError):
        tb.set_head(0, 10.0)
    with pytest.raises(KeyError):
        tb.rank(5, 20.0, 5)
    with pytest.raises(ValueError):
        tb.set_bucket(1, CHAT, [0], [1], [], [], 0, 1, 0.0)
    with pytest.raises(ValueError):
        tb.set_bucket(1, CHAT, [0], [1], [], [], 0, -1, 10.0)


# -- the chooser -------------------------------------------------------------------------------


ROOT = Path(__file__).resolve().parents[2]


def run_python(code: str, flag: str) -> list[str]:
    env = {**os.environ, "ROUTERD_PURE_PYTHON": flag, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


@pytest.mark.parametrize(("flag", "impl"), [("1", "python"), ("yes", "python"), ("0", "compiled")])
def test_chooser_honours_pure_python_switch(flag: str, impl: str) -> None:
    if impl == "compiled" and COMPILED is None:
        pytest.skip(NOT_BUILT)
    code = "import native; print(native.KERNEL_IMPL, native.AgentIndex.__module__)"
    name, module = run_python(f"import warnings; warnings.simplefilter('error'); {code}", flag)
    assert name == impl
    assert (module == "native._kernel") == (impl == "compiled")


def test_chooser_falls_back_to_the_twin_with_one_warning() -> None:
    code = """
import sys, warnings
class NoKernel:
    def find_spec(self, name, path=None, target=None):
        if name == "native._kernel":
            raise ImportError("not built")
sys.meta_path.insert(0, NoKernel())
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import native
print(native.KERNEL_IMPL, [w.category.__name__ for w in caught])
"""
    assert run_python(code, "") == ["python", "['RuntimeWarning']"]


def test_every_combination_of_blocks_is_consistent(k: ModuleType) -> None:
    ix = index(k)
    agent(ix, 0, [1, 0, 0, 0])
    for counts in itertools.product(range(2), range(5), range(6)):
        for c, n in enumerate(counts):
            ix.add_load(0, c, n - ix.count(0, c))
        used = sum(n * cost for n, cost in zip(counts, COSTS, strict=True))
        assert ix.load(0) == used
        for c in range(3):
            blocked = any(n and BLOCKS[x] >> c & 1 for x, n in enumerate(counts))
            busy = sum(
                n * COSTS[x] for x, n in enumerate(counts) if not INTERRUPTIBLE_BY[x] >> c & 1
            )
            room = busy + COSTS[c] <= 100 and counts[c] < CAPS[c]
            assert ix.ready(0, c) == (room and not blocked)

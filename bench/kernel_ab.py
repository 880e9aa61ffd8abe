"""Two builds of the compiled kernel in one process, timed in alternating rounds.

    python -m bench.kernel_ab OTHER_TREE [--rounds N]

OTHER_TREE is a checkout with its kernel built in place (`python setup.py build_ext --inplace`),
usually the code before a change; it is compared with this tree's build. On a shared VM whose
speed drifts within minutes, two runs of `bench.kernel` cannot tell a 5% change from the drift;
here both builds see the same drift, round by round. Each figure is the median over the rounds
of a round's median; "B faster" counts the rounds this tree's build won.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path
from types import ModuleType
from typing import Any

from bench import kernel as kb

HERE = Path(__file__).resolve().parents[1]


def load_kernel(tree: Path) -> ModuleType:
    """The compiled kernel built in place in `tree`, as a module of its own."""
    # This interpreter's builds only: a tree built in place under several Pythons has one each.
    names = [tree / "native" / f"_kernel{suffix}" for suffix in EXTENSION_SUFFIXES]
    found = [path for path in names if path.exists()]
    if not found:
        raise SystemExit(f"no built kernel in {tree}/native: python setup.py build_ext --inplace")
    spec = importlib.util.spec_from_file_location("native._kernel", found[0])
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class Pair:
    """One measure timed on both builds: a call per build, and the calls' results agreeing."""

    name: str
    a: Callable[[], float]
    b: Callable[[], float]
    same: bool


def _batch_of(fn: Callable[..., object], calls: Sequence[Sequence[Any]]) -> Callable[[], float]:
    """A round of one build: the median µs of a call over one batch of `calls`."""
    return lambda: kb.batch_median_ns(fn, calls) / 1000.0


def pairs(a: ModuleType, b: ModuleType, sizes: Sequence[int]) -> list[Pair]:
    """rank at each size, agent -> task and the batch, on the same data for both builds."""
    out = []
    tasks = kb.make_tasks(300, seed=7)
    for n in sizes:
        agents = kb.make_agents(n, seed=n, routable=0.3)
        ia, ib = kb.build_index(a, agents), kb.build_index(b, agents)
        same = all(ia.rank(*t) == ib.rank(*t) for t in tasks)
        timed_a, timed_b = _batch_of(ia.rank, tasks), _batch_of(ib.rank, tasks)
        out.append(Pair(f"rank {n:,} us", timed_a, timed_b, same))
    (ba, ca), (bb, cb) = kb.board_world(a), kb.board_world(b)
    same = [ba.rank(*c) for c in ca] == [bb.rank(*c) for c in cb]
    out.append(Pair("agent->task us", _batch_of(ba.rank, ca), _batch_of(bb.rank, cb), same))
    (xa, ta), (xb, tb) = kb.batch_world(a), kb.batch_world(b)
    same = a.batch_match(xa, ta, kb.NOW) == b.batch_match(xb, tb, kb.NOW)
    batch_a = _batch_of(a.batch_match, [(xa, ta, kb.NOW)] * 3)
    batch_b = _batch_of(b.batch_match, [(xb, tb, kb.NOW)] * 3)
    out.append(Pair("batch us", batch_a, batch_b, same))
    return out


def compare(other: Path, sizes: Sequence[int], rounds: int) -> list[dict[str, Any]]:
    """A (the other tree) against B (this one), measure by measure."""
    measures = pairs(load_kernel(other), load_kernel(HERE), sizes)
    rows = []
    for m in measures:
        ta: list[float] = []
        tb: list[float] = []
        for r in range(rounds):
            order = ((m.a, ta), (m.b, tb)) if r % 2 == 0 else ((m.b, tb), (m.a, ta))
            for fn, into in order:
                into.append(fn())
        a_med, b_med = statistics.median(ta), statistics.median(tb)
        wins = sum(y < x for x, y in zip(ta, tb, strict=True))
        rows.append({
            "measure": m.name, "a": round(a_med, 3), "b": round(b_med, 3),
            "b_over_a": round(b_med / a_med, 3), "b_faster": wins, "rounds": rounds,
            "same_results": m.same,
        })  # fmt: skip
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.kernel_ab", description=__doc__)
    parser.add_argument("other", type=Path, help="a tree with its kernel built in place")
    parser.add_argument("--rounds", type=int, default=21)
    args = parser.parse_args(argv)
    print(f"A: {args.other.resolve()}  B: {HERE}")
    for row in compare(args.other, (1_000, 10_000, 100_000), args.rounds):
        print(
            f"{row['measure']:>16}  A {row['a']:>10.3f}  B {row['b']:>10.3f}  "
            f"B/A {row['b_over_a']:.3f}  B faster in {row['b_faster']}/{row['rounds']}"
            f"{'' if row['same_results'] else '  RESULTS DIFFER'}"
        )


if __name__ == "__main__":
    main()

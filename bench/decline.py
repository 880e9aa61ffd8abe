"""A declined offer in a big center: python -m bench.decline [--agents N] [--tasks N].

After every decline the engine asks whether an agent the task has not skipped could still take
it (else a new round starts). Here 10,000 agents speak English and three hold the task's rare
skill, the last of them joining after the others: the case where that question is costliest.
"""

from __future__ import annotations

import argparse
import statistics
import time

from router import decisions as d
from router import events as e
from router.clock import VirtualClock
from router.config import load_config_text
from router.engine import Engine

CENTER = """
version: 1
channels:
  chat: {cost: 25, max_per_agent: 4, wrap_up: 0s}
skills:
  en: {}
  legal: {}
queues:
  general: {channels: [chat], skills: {en: 1}, service_level: 80% within 20s}
  legal: {channels: [chat], skills: {legal: 2}, service_level: 80% within 60s}
classification:
  default: general
offers: {timeout: 20s, max_missed: 1000000}
presence: {lease: 24h}
"""
EXPERTS = 3


def center(agents: int) -> Engine:
    """`agents` English speakers, with the experts first, among the others and last."""
    engine = Engine(load_config_text(CENTER, "bench-decline.yaml"), VirtualClock(0.0))
    places = {0: "x0", agents // 2: "x1", agents - 1: "x2"}
    for i in range(agents):
        agent_id = places.get(i, f"a{i}")
        skills = {"legal": 3} if agent_id in places.values() else {"en": 3}
        engine.handle(e.AgentUpserted(agent_id, skills))
        engine.handle(e.AgentStatusChanged(agent_id, "available"))
    return engine


def decline_times(engine: Engine, tasks: int) -> list[float]:
    """Seconds per decline: each task is declined by every expert, and once more in round 2."""
    out = []
    for n in range(tasks):
        got = engine.handle(e.InteractionArrived(f"t{n}", "chat", "legal"))
        for _ in range(EXPERTS + 1):
            offer = next(x for x in got if isinstance(x, d.Offered))
            t0 = time.perf_counter()
            got = engine.handle(e.OfferRejected(offer.offer_id))
            out.append(time.perf_counter() - t0)
        assert engine.task(f"t{n}").rounds == 1, "every expert declined: a new round"
        engine.handle(e.InteractionAbandoned(f"t{n}"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=10_000)
    parser.add_argument("--tasks", type=int, default=200)
    args = parser.parse_args()
    times = decline_times(center(args.agents), args.tasks)
    print(
        f"decline of a task {EXPERTS} of {args.agents:,} agents can take: "
        f"median {statistics.median(times) * 1e3:.3f} ms, max {max(times) * 1e3:.3f} ms "
        f"({len(times):,} declines)"
    )


if __name__ == "__main__":
    main()

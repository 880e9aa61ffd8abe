"""Live queue figures in a big center: python -m bench.figures [--waiting N] [--agents N].

What `GET /v1/queues` and each wallboard tick compute: bench.engine's five queues, 10,000
agents and 100,000 waiting contacts, first with every agent offline, then with every agent
available (each then holds an offer). Prints the median milliseconds of one computation.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from bench.engine import CENTER, center_agents
from router import events as e
from router.clock import VirtualClock
from router.config import load_config_text
from router.engine import Engine
from router.stats import Stats

QUEUES = ("billing", "tech", "sales", "spanish")


def _ms(stats: Stats, engine: Engine, rounds: int = 9) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        stats.queue_figures(engine, engine.clock())
        stats.agent_figures(engine)
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    """`python -m bench.figures`."""
    parser = argparse.ArgumentParser(prog="python -m bench.figures", description=__doc__)
    parser.add_argument("--waiting", type=int, default=100_000)
    parser.add_argument("--agents", type=int, default=10_000)
    args = parser.parse_args(argv)
    rng = random.Random(1)
    engine = Engine(load_config_text(CENTER, "bench-center.yaml"), VirtualClock(0.0))
    for ev in center_agents(rng, args.agents):
        engine.handle(ev)
    for n in range(args.waiting):
        engine.handle(e.InteractionArrived(f"c{n}", "chat", rng.choice(QUEUES)))
    stats = Stats()
    print(f"{args.waiting:,} waiting, {args.agents:,} agents offline: {_ms(stats, engine):.1f} ms")
    for agent in list(engine.roster):
        engine.handle(e.AgentStatusChanged(agent.id, "available"))
    print(
        f"{len(engine.backlog):,} waiting, {args.agents:,} agents available, {len(engine.offers):,}"
        f" offers out: {_ms(stats, engine):.1f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

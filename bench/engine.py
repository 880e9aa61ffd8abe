"""Engine throughput: arrive -> offer -> accept -> complete, in memory, on a virtual clock."""

from __future__ import annotations

import random
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
  voice: {cost: 100, max_per_agent: 1, wrap_up: 0s, blocks: [voice, chat]}
  chat: {cost: 25, max_per_agent: 4, wrap_up: 0s, blocks: [voice]}
skills:
  en: {}
  es: {}
  billing: {}
  tech: {}
  sales: {}
  retention: {}
queues:
  billing: {channels: [voice, chat], skills: {billing: 2, en: 1}, service_level: 80% within 20s}
  tech: {channels: [voice, chat], skills: {tech: 2, en: 1}, service_level: 80% within 30s}
  sales: {channels: [voice, chat], skills: {sales: 1}, service_level: 80% within 20s}
  spanish: {channels: [voice, chat], skills: {es: 2}, service_level: 80% within 60s}
  retention: {channels: [voice], skills: {retention: 3}, priority: 8, service_level: 90% within 15s}
classification:
  default: billing
offers: {timeout: 20s, max_missed: 3}
presence: {lease: 24h}
"""


def center_agents(rng: random.Random, n: int) -> list[e.AgentUpserted]:
    out = []
    for i in range(n):
        skills = {"en": rng.randint(1, 5)}
        for s in rng.sample(["es", "billing", "tech", "sales", "retention"], rng.randint(2, 4)):
            skills[s] = rng.randint(2, 5)
        out.append(e.AgentUpserted(f"agent{i}", skills))
    return out


def one_run(agents: int = 1000, contacts: int = 60_000, burst: int = 1500) -> float:
    """Full lifecycles per second with `agents` agents and bursts that make work wait."""
    rng = random.Random(5)
    clock = VirtualClock(0.0)
    engine = Engine(load_config_text(CENTER, "bench-center.yaml"), clock)
    for ev in center_agents(rng, agents):
        engine.handle(ev)
        engine.handle(e.AgentStatusChanged(ev.agent_id, "available"))
    queues = ["billing", "tech", "sales", "spanish", "retention"]
    arrivals = [
        e.InteractionArrived(f"c{n}", rng.choice(["voice", "chat"]), rng.choice(queues[:4]))
        for n in range(contacts)
    ]
    done = 0
    start = time.perf_counter()
    for lo in range(0, contacts, burst):
        clock.advance_to(clock() + 1.0)
        pending = [x for ev in arrivals[lo : lo + burst] for x in engine.handle(ev)]
        while pending:
            x = pending.pop()
            if isinstance(x, d.Offered):
                pending += engine.handle(e.OfferAccepted(x.offer_id))
            elif isinstance(x, d.Assigned):
                pending += engine.handle(e.InteractionCompleted(x.interaction_id))
            elif isinstance(x, d.Finished):
                done += 1
    elapsed = time.perf_counter() - start
    return done / elapsed


def runs(repeats: int = 5) -> list[float]:
    """Several independent runs, each on a fresh engine."""
    return [one_run() for _ in range(repeats)]


def measure_engine(repeats: int = 5) -> float:
    """The median of several runs: lifecycles per second with 1,000 agents."""
    return statistics.median(runs(repeats))


if __name__ == "__main__":
    rates = runs()
    print(
        f"engine: {statistics.median(rates):,.0f} interactions/s median of {len(rates)} runs "
        f"(min {min(rates):,.0f}, max {max(rates):,.0f}), 1,000 agents"
    )

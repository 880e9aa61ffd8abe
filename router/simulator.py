"""What-if simulation: drives the real engine on a virtual clock with synthetic traffic."""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from router import decisions as d
from router import events as e
from router.clock import VirtualClock
from router.config.model import RoutingConfig
from router.engine import Engine


@dataclass(frozen=True, slots=True)
class Scenario:
    """Poisson arrivals to one queue and agents that accept at once, each call exponential."""

    queue: str
    channel: str
    arrival_rate: float  # contacts per second
    handle_time: float  # mean seconds
    agents: Mapping[str, Mapping[str, int]]  # agent id -> skills
    contacts: int
    seed: int = 1
    warmup: int = 0  # contacts left out of the figures while the system fills
    groups: tuple[str, ...] = ()  # every agent's groups


@dataclass(slots=True)
class SimResult:
    """Figures over the measured contacts."""

    target: float
    waits: list[float] = field(default_factory=list)
    expired: int = 0  # contacts that reached the queue's max wait

    @property
    def answered(self) -> int:
        """Contacts measured."""
        return len(self.waits)

    @property
    def service_level(self) -> float:
        """Fraction answered within the queue's target."""
        return sum(w <= self.target for w in self.waits) / max(1, len(self.waits))

    @property
    def asa(self) -> float:
        """Average speed of answer, seconds."""
        return sum(self.waits) / max(1, len(self.waits))


class Simulation:
    """A discrete-event loop around one engine; the engine's own deadlines become ticks."""

    def __init__(self, config: RoutingConfig, seed: int) -> None:
        self.clock = VirtualClock()
        self.engine = Engine(config, self.clock)
        self.rng = random.Random(seed)
        self._agenda: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()
        self.on_decision: Callable[[d.Decision], None] = lambda _: None

    def at(self, when: float, action: Callable[[], None]) -> None:
        """Run `action` at virtual time `when`."""
        heapq.heappush(self._agenda, (when, next(self._order), action))

    def feed(self, event: e.Event) -> None:
        """Hand one event to the engine now and react to what it decides."""
        for decision in self.engine.handle(event):
            self.on_decision(decision)

    def pending(self) -> int:
        """Actions still on the agenda."""
        return len(self._agenda)

    def run(self) -> None:
        """Process the agenda and the engine's deadlines in time order until both are empty."""
        while self._agenda:
            when = self._agenda[0][0]
            deadline = self.engine.next_deadline()
            if deadline is not None and deadline < when:
                self.clock.advance_to(deadline)
                self.feed(e.Tick())
                continue
            _, _, action = heapq.heappop(self._agenda)
            self.clock.advance_to(when)
            action()


def run_scenario(config: RoutingConfig, sc: Scenario) -> SimResult:
    """Simulate the scenario and measure waits from arrival to offer."""
    sim = Simulation(config, sc.seed)
    target = config.queues[sc.queue].service_level.within
    result = SimResult(target)
    arrived: dict[str, tuple[int, float]] = {}

    def decide(decision: d.Decision) -> None:
        if isinstance(decision, d.Offered):
            n, t0 = arrived.pop(decision.interaction_id)
            if n >= sc.warmup:
                result.waits.append(sim.clock() - t0)
            sim.at(sim.clock(), lambda: sim.feed(e.OfferAccepted(decision.offer_id)))
        elif isinstance(decision, d.Finished) and decision.state == "expired":
            result.expired += 1
        elif isinstance(decision, d.Assigned):
            done = sim.clock() + sim.rng.expovariate(1.0 / sc.handle_time)
            sim.at(done, lambda: sim.feed(e.InteractionCompleted(decision.interaction_id)))

    sim.on_decision = decide
    for agent_id, skills in sc.agents.items():
        sim.feed(e.AgentUpserted(agent_id, skills, sc.groups))
        sim.feed(e.AgentStatusChanged(agent_id, "available"))
    _schedule_arrivals(sim, sc, arrived)
    _schedule_heartbeats(sim, sc, config.presence_lease)
    sim.run()
    return result


def _schedule_arrivals(
    sim: Simulation, sc: Scenario, arrived: dict[str, tuple[int, float]]
) -> None:
    t = 0.0
    for n in range(sc.contacts):
        t += sim.rng.expovariate(sc.arrival_rate)
        task_id = f"c{n}"

        def arrive(n: int = n, task_id: str = task_id) -> None:
            arrived[task_id] = (n, sim.clock())
            sim.feed(e.InteractionArrived(task_id, sc.channel, sc.queue))

        sim.at(t, arrive)


def _schedule_heartbeats(sim: Simulation, sc: Scenario, lease: float) -> None:
    """Agents' desktops beat at a third of the lease for as long as anything else is scheduled."""

    def pulse() -> None:
        for agent_id in sc.agents:
            sim.feed(e.AgentHeartbeat(agent_id))
        if sim.pending():
            sim.at(sim.clock() + lease / 3, pulse)

    sim.at(lease / 3, pulse)

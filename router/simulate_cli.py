"""`routerd simulate`: a what-if run of one queue through the real engine, beside Erlang C."""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING

from router.config.durations import parse_duration
from router.config.model import RoutingConfig
from router.erlang import average_speed_of_answer, service_level
from router.errors import InvalidInput

if TYPE_CHECKING:
    from router.simulator import Scenario


def add_simulate_args(parser: argparse.ArgumentParser) -> None:
    """Arguments of `routerd simulate`."""
    parser.add_argument("file", help="routing file (YAML)")
    parser.add_argument("--queue", help="queue to load (default: the classification default)")
    parser.add_argument("--channel", help="channel of the contacts (default: the queue's first)")
    parser.add_argument("--agents", type=int, default=20, help="agents staffed (default 20)")
    parser.add_argument(
        "--per-hour", type=float, default=300.0, help="contacts per hour (default 300)"
    )
    parser.add_argument("--aht", default="3m", help="average handle time (default 3m)")
    parser.add_argument("--contacts", type=int, default=20_000, help="contacts (default 20000)")
    parser.add_argument("--seed", type=int, default=1)


def _scenario(config: RoutingConfig, args: argparse.Namespace) -> Scenario:
    queue_name = args.queue or config.classification.default_queue
    queue = config.queues.get(queue_name)
    if queue is None:
        raise InvalidInput("queue", f"unknown queue {queue_name!r}")
    channel = args.channel or queue.channels[0]
    if channel not in queue.channels:
        raise InvalidInput("channel", f"queue {queue.name!r} does not serve {channel!r}")
    skills = {s: max(3, lvl) for s, lvl in queue.skills.items()}
    from router.simulator import Scenario  # noqa: PLC0415  (the engine: not for `routerd run`)

    return Scenario(
        queue=queue.name,
        channel=channel,
        arrival_rate=args.per_hour / 3600.0,
        handle_time=parse_duration(args.aht),
        agents={f"agent{i:03d}": skills for i in range(args.agents)},
        groups=queue.groups,
        contacts=args.contacts,
        seed=args.seed,
        warmup=args.contacts // 20,
    )


def simulation_report(config: RoutingConfig, args: argparse.Namespace) -> str:
    """Simulate and describe the outcome next to the Erlang C prediction."""
    sc = _scenario(config, args)
    started = time.perf_counter()
    from router.simulator import run_scenario  # noqa: PLC0415

    result = run_scenario(config, sc)
    elapsed = time.perf_counter() - started
    target = result.target
    wrap = config.channels[sc.channel].wrap_up
    # The agent is busy for talk plus wrap-up: that is Erlang's handle time.
    n, rate, aht = len(sc.agents), sc.arrival_rate, sc.handle_time + wrap
    per_agent = config.channels[sc.channel].max_per_agent
    if per_agent == 1:
        erl_sl = f"{service_level(n, rate, aht, target):>10.1%}"
        erl_asa = f"{average_speed_of_answer(n, rate, aht):>10.1f}"
        note = []
    else:
        erl_sl = erl_asa = f"{'n/a':>10}"
        note = [f"  Erlang C has one contact per agent; {sc.channel} allows {per_agent} at once"]
    return "\n".join(
        [
            f"queue {sc.queue} on {sc.channel}: {n} agents, {args.per_hour:g} contacts/h, "
            f"handle {sc.handle_time:g}s + wrap-up {wrap:g}s, {sc.contacts} contacts "
            f"(first {sc.warmup} not counted)",
            f"  {'':22}{'engine':>10}{'Erlang C':>10}",
            f"  {f'within {target:g}s':22}{result.service_level:>10.1%}{erl_sl}",
            f"  {'ASA (s)':22}{result.asa:>10.1f}{erl_asa}",
            f"  {'expired (max wait)':22}{result.expired:>10}",
            *note,
            f"  simulated {sc.contacts / rate / 3600:.1f} h in {elapsed:.1f} s",
        ]
    )

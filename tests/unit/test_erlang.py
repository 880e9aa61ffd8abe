"""The engine on a virtual clock reproduces Erlang C: it is sans-I/O and work-conserving."""

from __future__ import annotations

import math

import pytest

from router.config import load_config_text
from router.erlang import average_speed_of_answer, erlang_c, service_level
from router.simulator import Scenario, run_scenario

ONE_QUEUE = """
version: 1
channels:
  voice: {cost: 100, max_per_agent: 1, wrap_up: 0s}
skills:
  en: {description: English}
queues:
  inbound:
    channels: [voice]
    skills: {en: 1}
    service_level: 80% within 20s
classification:
  default: inbound
offers: {timeout: 30s, max_missed: 3}
presence: {lease: 24h}
"""


def _direct_erlang_c(c: int, a: float) -> float:
    """The textbook sum, to check the recurrence against."""
    top = a**c / math.factorial(c) * c / (c - a)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


@pytest.mark.parametrize(("c", "a"), [(1, 0.5), (5, 3.0), (10, 8.0), (25, 22.5)])
def test_erlang_c_matches_the_textbook_sum(c: int, a: float) -> None:
    assert erlang_c(c, a) == pytest.approx(_direct_erlang_c(c, a), rel=1e-12)


def test_single_server_wait_probability_is_the_load() -> None:
    assert erlang_c(1, 0.7) == pytest.approx(0.7)


def test_overloaded_queue_always_waits() -> None:
    assert erlang_c(4, 4.5) == 1.0


@pytest.mark.slow
def test_engine_service_level_and_asa_agree_with_erlang_c() -> None:
    config = load_config_text(ONE_QUEUE, "erlang.yaml")
    agents, handle, rate = 10, 60.0, 7.0 / 60.0  # 7 Erlangs on 10 agents: 70% occupancy
    scenario = Scenario(
        queue="inbound",
        channel="voice",
        arrival_rate=rate,
        handle_time=handle,
        agents={f"a{i}": {"en": 3} for i in range(agents)},
        contacts=240_000,
        seed=3,
        warmup=2_000,
    )
    result = run_scenario(config, scenario)
    sl = service_level(agents, rate, handle, 20.0)
    asa = average_speed_of_answer(agents, rate, handle)
    assert abs(result.service_level - sl) <= 0.02
    assert result.asa == pytest.approx(asa, rel=0.10)

"""Erlang C: the M/M/c queue's waiting probability, service level and average speed of answer."""

from __future__ import annotations

import math


def erlang_c(agents: int, traffic: float) -> float:
    """Probability that a contact waits, for `traffic` Erlangs offered to `agents` servers."""
    if traffic <= 0:
        return 0.0
    if traffic >= agents:
        return 1.0
    # Erlang B by its stable recurrence, then C from B.
    b = 1.0
    for k in range(1, agents + 1):
        b = traffic * b / (k + traffic * b)
    rho = traffic / agents
    return b / (1.0 - rho + rho * b)


def service_level(agents: int, arrival_rate: float, handle_time: float, target: float) -> float:
    """Fraction of contacts answered within `target` seconds."""
    traffic = arrival_rate * handle_time
    if traffic >= agents:
        return 0.0
    drain = (agents - traffic) / handle_time
    return 1.0 - erlang_c(agents, traffic) * math.exp(-drain * target)


def average_speed_of_answer(agents: int, arrival_rate: float, handle_time: float) -> float:
    """Mean wait before answer, in seconds, over all contacts."""
    traffic = arrival_rate * handle_time
    if traffic >= agents:
        return math.inf
    return erlang_c(agents, traffic) * handle_time / (agents - traffic)

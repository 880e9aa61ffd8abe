"""A small routing file and helpers for driving the engine in tests."""

from __future__ import annotations

from collections.abc import Mapping

from router import decisions as d
from router import events as e
from router.clock import VirtualClock
from router.config import load_config_text
from router.engine import Engine

BASE = """
version: 1
tenant: test
agents: {capacity: 100}
channels:
  voice: {cost: 100, max_per_agent: 1, wrap_up: 0s, blocks: [voice, chat, email]}
  chat: {cost: 25, max_per_agent: 3, wrap_up: 0s, blocks: [voice]}
  email: {cost: 20, max_per_agent: 5, wrap_up: 0s, interruptible_by: [voice]}
skills:
  en: {description: English}
  billing: {description: Invoices and payments}
  tech: {description: Technical support}
groups: [tier1, tier2]
queues:
  support:
    channels: [voice, chat, email]
    skills: {en: 1}
    service_level: 80% within 20s
  billing:
    channels: [voice, chat, email]
    skills: {billing: 2}
    service_level: 80% within 20s
  fast:
    channels: [voice, chat]
    skills: {en: 1}
    service_level: 80% within 5s
  vip:
    channels: [voice, chat]
    skills: {billing: 4}
    priority: 9
    service_level: 90% within 10s
classification:
  default: support
offers: {timeout: 15s, max_missed: 2}
presence: {lease: 60s}
sessions: {sticky_ttl: 5m}
"""


def make_engine(text: str = BASE, start: float = 1000.0) -> tuple[Engine, VirtualClock]:
    """An engine on a virtual clock over the given routing file."""
    clock = VirtualClock(start)
    return Engine(load_config_text(text, "test.yaml"), clock), clock


def login(
    engine: Engine, agent_id: str, skills: Mapping[str, int], groups: tuple[str, ...] = ()
) -> list[d.Decision]:
    """Create the agent and make it available; returns what that decided."""
    engine.handle(e.AgentUpserted(agent_id, skills, groups))
    return engine.handle(e.AgentStatusChanged(agent_id, "available"))


def arrive(
    engine: Engine, task_id: str, queue: str = "support", channel: str = "chat", **kw: object
) -> list[d.Decision]:
    """A classified contact arrives."""
    return engine.handle(e.InteractionArrived(task_id, channel, queue, **kw))  # type: ignore[arg-type]


def offers(decisions: list[d.Decision]) -> list[d.Offered]:
    """The offers among the decisions."""
    return [x for x in decisions if isinstance(x, d.Offered)]


def offered_to(decisions: list[d.Decision]) -> dict[str, str]:
    """interaction id -> agent id of every offer made."""
    return {o.interaction_id: o.agent_id for o in offers(decisions)}

"""Sticky sessions: which agent owns a customer's session, and work held for that agent."""

from __future__ import annotations


class Sessions:
    """Session owners with a TTL, and per agent the sticky tasks waiting for it, oldest first."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._owner: dict[str, tuple[str, float]] = {}  # session -> (agent, sticky until)
        self._held: dict[str, dict[str, None]] = {}  # agent -> ordered set of task ids

    def touch(self, session: str, agent_id: str, now: float) -> None:
        """The agent worked on the session now: it stays theirs for the TTL."""
        self._owner[session] = (agent_id, now + self.ttl)

    def set_owner(self, session: str, agent_id: str, until: float) -> None:
        """Restore an owner as it was."""
        self._owner[session] = (agent_id, until)

    def owner(self, session: str, now: float) -> str | None:
        """The agent that owns the session, while the TTL runs."""
        entry = self._owner.get(session)
        if entry is None:
            return None
        if entry[1] < now:
            del self._owner[session]
            return None
        return entry[0]

    def until(self, session: str | None) -> float:
        """When the session's stickiness ends."""
        entry = self._owner.get(session) if session is not None else None
        return entry[1] if entry is not None else 0.0

    def hold(self, agent_id: str, task_id: str) -> None:
        """Keep the task for the agent until it has room."""
        self._held.setdefault(agent_id, {})[task_id] = None

    def holds_for(self, agent_id: str) -> bool:
        """Whether any task is held for the agent."""
        return agent_id in self._held

    def held(self, agent_id: str) -> list[str]:
        """Tasks held for the agent, oldest first."""
        return list(self._held.get(agent_id, ()))

    def unhold(self, agent_id: str, task_id: str) -> bool:
        """Stop holding the task; False if it was not held."""
        tasks = self._held.get(agent_id)
        if tasks is None or task_id not in tasks:
            return False
        del tasks[task_id]
        if not tasks:
            del self._held[agent_id]
        return True

    def all_held(self) -> list[str]:
        """Every task held for some agent."""
        return [t for tasks in self._held.values() for t in tasks]

    def release_holds(self, agent_id: str) -> list[str]:
        """Drop every task held for the agent and return them (the agent left)."""
        return list(self._held.pop(agent_id, ()))

    def snapshot(self) -> dict[str, list[object]]:
        """Owners as plain data."""
        return {s: [a, until] for s, (a, until) in self._owner.items()}

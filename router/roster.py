"""The agents: their records, kernel slots, presence and load, in step with the kernel index."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from itertools import chain

from native import AgentIndex
from router.config.model import MAX_LEVEL, RoutingConfig
from router.errors import InvalidInput, NotFound
from router.model import Agent, AgentStatus, Task


def _channel_mask(config: RoutingConfig, names: frozenset[str]) -> int:
    return sum(1 << config.channels[n].index for n in names)


def new_agent_index(config: RoutingConfig) -> AgentIndex:
    """An empty kernel index shaped by the routing file's skills, channels and weights."""
    chans = sorted(config.channels.values(), key=lambda c: c.index)
    w = config.scoring
    return AgentIndex(
        len(config.skills),
        [c.cost for c in chans],
        [_channel_mask(config, c.blocks) for c in chans],
        [_channel_mask(config, c.interruptible_by) for c in chans],
        (w.skill_fit, w.load, w.idle, w.sla_urgency, w.priority),
        w.idle_half_life,
    )


class Roster:
    """Every known agent, by id and by kernel slot."""

    def __init__(self, config: RoutingConfig) -> None:
        self.config = config
        self.index = new_agent_index(config)
        self._agents: dict[str, Agent] = {}
        self._by_slot: list[str | None] = []
        self._free: list[int] = []
        self._channel = {name: c.index for name, c in config.channels.items()}
        # Who holds each skill and who is in each group: whether anyone else could take a
        # declined task is asked of the smallest of these, not of every agent.
        self._holders: dict[str, set[str]] = {}
        self._members: dict[str, set[str]] = {}
        self._holding: dict[tuple[frozenset[tuple[str, int]], tuple[str, ...]], list[Agent]] = {}

    def __len__(self) -> int:
        return len(self._agents)

    def __iter__(self) -> Iterator[Agent]:
        return iter(self._agents.values())

    def __contains__(self, agent_id: object) -> bool:
        return agent_id in self._agents

    def get(self, agent_id: str) -> Agent:
        """The agent, or NotFound."""
        try:
            return self._agents[agent_id]
        except KeyError:
            raise NotFound(f"agent {agent_id!r} not found") from None

    def at(self, slot: int) -> Agent:
        """The agent in a kernel slot."""
        agent_id = self._by_slot[slot]
        assert agent_id is not None, f"empty slot {slot}"
        return self._agents[agent_id]

    def upsert(
        self,
        agent_id: str,
        skills: Mapping[str, int],
        groups: tuple[str, ...],
        capacity: int | None,
        caps: Mapping[str, int],
    ) -> Agent:
        """Create the agent or replace its profile; status, presence and work are kept."""
        self._validate(skills, groups, caps)
        agent = self._agents.get(agent_id)
        if agent is None:
            agent = Agent(agent_id, self._take_slot(agent_id), {}, (), 0, {})
            self._agents[agent_id] = agent
        self._unlist(agent)
        self._holding.clear()
        agent.skills = {s: lvl for s, lvl in skills.items() if lvl > 0}
        agent.groups = tuple(groups)
        self._list(agent)
        agent.capacity = self.config.agent_capacity if capacity is None else capacity
        agent.caps = dict(caps)
        self._push_profile(agent)
        return agent

    def _validate(
        self, skills: Mapping[str, int], groups: tuple[str, ...], caps: Mapping[str, int]
    ) -> None:
        for name, level in skills.items():
            if name not in self.config.skills:
                raise InvalidInput(f"skills.{name}", "unknown skill")
            if not 0 <= level <= MAX_LEVEL:
                raise InvalidInput(f"skills.{name}", f"level must be 0..{MAX_LEVEL}")
        for group in groups:
            if group not in self.config.groups:
                raise InvalidInput("groups", f"unknown group {group!r}")
        for channel, cap in caps.items():
            if channel not in self.config.channels:
                raise InvalidInput(f"caps.{channel}", "unknown channel")
            if cap < 0:
                raise InvalidInput(f"caps.{channel}", "must be >= 0")

    def _list(self, agent: Agent) -> None:
        for skill in agent.skills:
            self._holders.setdefault(skill, set()).add(agent.id)
        for group in agent.groups:
            self._members.setdefault(group, set()).add(agent.id)

    def _unlist(self, agent: Agent) -> None:
        for skill in agent.skills:
            self._holders[skill].discard(agent.id)
        for group in agent.groups:
            self._members[group].discard(agent.id)

    def _take_slot(self, agent_id: str) -> int:
        if self._free:
            slot = self._free.pop()
            self._by_slot[slot] = agent_id
        else:
            slot = len(self._by_slot)
            self._by_slot.append(agent_id)
        return slot

    def _push_profile(self, agent: Agent) -> None:
        levels = [0] * len(self.config.skills)
        for name, level in agent.skills.items():
            levels[self.config.skills[name].index] = level
        chans = sorted(self.config.channels.values(), key=lambda c: c.index)
        caps = [agent.caps.get(c.name, c.max_per_agent) for c in chans]
        self.index.set_agent(
            agent.slot, levels, self.config.group_mask(agent.groups), agent.capacity, caps
        )

    def could_take(self, agent: Agent, task: Task) -> bool:
        """Whether the agent's profile fits the task (channel, groups, skill levels), whatever
        its status, presence or load."""
        ch = self.config.channels[task.channel]
        if agent.caps.get(ch.name, ch.max_per_agent) <= 0 or ch.cost > agent.capacity:
            return False
        if task.groups and not set(task.groups) & set(agent.groups):
            return False
        return agent.holds(task.skills)

    def holding(self, skills: Mapping[str, int], groups: tuple[str, ...] = ()) -> list[Agent]:
        """The agents that hold every skill at its level and are in one of `groups` (if any),
        whatever their status; kept until a profile changes, since wallboards ask for every
        queue every second."""
        key = (frozenset(skills.items()), groups)
        found = self._holding.get(key)
        if found is None:
            # An agent in two of the groups is listed by both of them.
            pool = map(self._agents.__getitem__, dict.fromkeys(self._pool(skills, groups)))
            found = self._holding[key] = [
                a for a in pool if a.holds(skills) and (not groups or _in_any(a, groups))
            ]
        return found

    def could_be_taken(self, task: Task) -> bool:
        """Whether an agent the task does not exclude could take it, whatever its status,
        presence or load."""
        return any(
            agent_id not in task.excluded and self.could_take(self._agents[agent_id], task)
            for agent_id in self._pool(task.skills, task.groups)
        )

    def _pool(self, skills: Mapping[str, int], groups: tuple[str, ...]) -> Iterable[str]:
        # Every agent holding the skills (levels 1..5) and in one of the groups (if any) is in
        # each of these sets; the smallest is read.
        pool: Iterable[str] = self._agents
        size = len(self._agents)
        for skill in skills:
            held = self._holders.get(skill, set())
            if len(held) < size:
                pool, size = held, len(held)
        if groups:
            members = [self._members.get(g, set()) for g in groups]
            if sum(map(len, members)) < size:
                pool = chain.from_iterable(members)
        return pool

    def routable(self, agent: Agent) -> bool:
        """May be offered work now: available and no offer pending (one offer at a time)."""
        return agent.status is AgentStatus.AVAILABLE and agent.offer is None

    def sync(self, agent: Agent) -> None:
        """Push the agent's routability, lease and idle time to the kernel."""
        self.index.set_presence(
            agent.slot, self.routable(agent), agent.lease_until, agent.idle_since
        )

    def add_load(self, agent: Agent, channel: str, delta: int) -> None:
        """One interaction of `channel` more (+1) or less (-1) on the agent."""
        self.index.add_load(agent.slot, self._channel[channel], delta)

    def ready(self, agent: Agent, channel: str) -> bool:
        """Routable with room for one more interaction of `channel`."""
        return self.index.ready(agent.slot, self._channel[channel])

    def load(self, agent: Agent) -> int:
        """Capacity units in use (offered, assigned and wrapping up)."""
        return self.index.load(agent.slot)

    def present(self, agent: Agent, now: float) -> bool:
        """Logged in with a live presence lease."""
        return agent.status is not AgentStatus.OFFLINE and agent.lease_until >= now


def _in_any(agent: Agent, groups: tuple[str, ...]) -> bool:
    return any(g in groups for g in agent.groups)

"""The engine's state as plain data, and the engine rebuilt from it (the daemon's restart path)."""

from __future__ import annotations

from typing import Any

from router import decisions as d
from router.engine import Engine
from router.model import Agent, AgentStatus, Offer, Task, TaskState
from router.timers import TimerKind

FORMAT = 1


def snapshot(engine: Engine) -> dict[str, Any]:
    """Everything needed to rebuild the engine: agents, live tasks, open offers, sessions."""
    return {
        "format": FORMAT,
        "seq": engine.seq,
        "agents": [_agent_data(a) for a in engine.roster],
        "tasks": [_task_data(t) for t in engine.tasks.values()],
        "offers": [[o.id, o.task, o.agent, o.deadline] for o in engine.offers.values()],
        "sessions": engine.sessions.snapshot(),
    }


def _agent_data(a: Agent) -> dict[str, Any]:
    return {
        "id": a.id,
        "skills": a.skills,
        "groups": list(a.groups),
        "capacity": a.capacity,
        "caps": a.caps,
        "status": a.status.value,
        "lease_until": a.lease_until,
        "idle_since": a.idle_since,
        "missed": a.missed,
    }


def _task_data(t: Task) -> dict[str, Any]:
    return {
        "id": t.id,
        "channel": t.channel,
        "queue": t.queue,
        "priority": t.priority,
        "skills": t.skills,
        "preferred": t.preferred,
        "groups": list(t.groups),
        "arrived_at": t.arrived_at,
        "seq": t.seq,
        "state": t.state.value,
        "agent": t.agent,
        "offer": t.offer,
        "excluded": sorted(t.excluded),
        "step": t.step,
        "session": t.session,
        "sticky_agent": t.sticky_agent,
        "sticky_until": t.sticky_until,
        "answered_at": t.answered_at,
        "wrap_until": t.wrap_until,
        "rounds": t.rounds,
    }


def restore(engine: Engine, data: dict[str, Any]) -> list[d.Decision]:
    """Load a snapshot into a fresh engine, then route what waits in one batch.

    Offers whose deadline has passed by the engine's clock are requeued by the first tick;
    live ones keep their deadline.
    """
    offers = {o[0]: Offer(o[0], o[1], o[2], float(o[3])) for o in data["offers"]}
    tasks = [_task_from(t) for t in data["tasks"]]
    sessions = {s: (agent, float(until)) for s, (agent, until) in data["sessions"].items()}
    return load(engine, int(data["seq"]), data["agents"], tasks, offers, sessions=sessions)


def load(
    engine: Engine,
    seq: int,
    agents: list[dict[str, Any]],
    tasks: list[Task],
    offers: dict[str, Offer],
    *,
    sessions: dict[str, tuple[str, float]],
) -> list[d.Decision]:
    """`restore` from records already built."""
    loader = Loader(engine)
    loader.agents(agents)
    loader.tasks(tasks, offers)
    return loader.finish(seq, sessions)


class Loader:
    """A fresh engine filled in steps: every agent, then tasks a chunk at a time, then the
    rest. The daemon's rebuild loads each chunk while Redis reads the next one."""

    def __init__(self, engine: Engine) -> None:
        if engine.tasks or len(engine.roster):
            raise ValueError("restore needs a fresh engine")
        self.engine = engine
        self._waiting: list[Task] = []

    def agents(self, agents: list[dict[str, Any]]) -> None:
        """Put the agents in place; before any task, as tasks in hand name their agent."""
        for a in agents:
            _restore_agent(self.engine, a)

    def tasks(self, tasks: list[Task], offers: dict[str, Offer]) -> None:
        """Put tasks back in place, with the open offers among `offers`."""
        engine, waiting = self.engine, self._waiting
        waiting += [task for task in tasks if _restore_task(engine, task, offers)]

    def finish(self, seq: int, sessions: dict[str, tuple[str, float]]) -> list[d.Decision]:
        """Queue the waiting tasks, hand sessions to their owners, then route in one batch."""
        engine = self.engine
        engine.seq = seq
        engine.backlog.push_many(self._waiting)
        self._waiting = []
        for session, (agent_id, until) in sessions.items():
            engine.sessions.set_owner(session, agent_id, until)
        for agent in engine.roster:
            engine.roster.sync(agent)
        return engine.handle_batch([])


def _restore_agent(engine: Engine, a: dict[str, Any]) -> None:
    agent = engine.roster.upsert(a["id"], a["skills"], tuple(a["groups"]), a["capacity"], a["caps"])
    agent.status = AgentStatus(a["status"])
    agent.lease_until = float(a["lease_until"])
    agent.idle_since = float(a["idle_since"])
    agent.missed = int(a["missed"])
    if agent.status is not AgentStatus.OFFLINE:
        engine.timers.add(agent.lease_until, TimerKind.LEASE, agent.id)


def _task_from(t: dict[str, Any]) -> Task:
    return Task(
        t["id"],
        t["channel"],
        t["queue"],
        int(t["priority"]),
        dict(t["skills"]),
        dict(t["preferred"]),
        tuple(t["groups"]),
        float(t["arrived_at"]),
        int(t["seq"]),
        TaskState(t["state"]),
        t["agent"],
        t["offer"],
        frozenset(t["excluded"]),
        int(t["step"]),
        t["session"],
        t["sticky_agent"],
        float(t["sticky_until"]),
        t["answered_at"],
        wrap_until=float(t["wrap_until"]),
        rounds=int(t["rounds"]),
    )


def _restore_task(engine: Engine, task: Task, offers: dict[str, Offer]) -> bool:
    """Put the task back in place; True if it goes back to the backlog."""
    engine.tasks[task.id] = task
    if task.state is TaskState.QUEUED:  # first: most of a big restart's tasks wait
        engine.arm_waiting(task)
        return task.sticky_agent is None or _restore_waiting(engine, task)
    if task.state is TaskState.OFFERED:
        engine.arm_waiting(task)
    agent = engine.roster.get(task.agent or "")
    agent.active.add(task.id)
    engine.roster.add_load(agent, task.channel, +1)
    if task.state is TaskState.OFFERED:
        offer = offers[task.offer or ""]
        offer.lapsed = offer.deadline <= engine.clock()
        engine.offers[offer.id] = offer
        agent.offer = offer.id
        engine.timers.add(offer.deadline, TimerKind.OFFER, offer.id)
    elif task.state is TaskState.WRAP_UP:
        engine.timers.add(task.wrap_until, TimerKind.WRAP_UP, task.id)
    return False


def _restore_waiting(engine: Engine, task: Task) -> bool:
    if task.sticky_agent is not None and task.sticky_agent in engine.roster:
        engine.sessions.hold(task.sticky_agent, task.id)
        engine.timers.add(task.sticky_until, TimerKind.STICKY, task.id)
        return False
    task.sticky_agent = None
    return True

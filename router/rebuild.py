"""The engine rebuilt from Redis, the source of truth: at start and after Redis came back."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from router import decisions as d
from router.commits import Held
from router.config.model import RoutingConfig
from router.engine import Engine
from router.events import InteractionArrived
from router.model import TaskState
from router.snapshot import FORMAT, restore
from router.store import Store, text
from router.tasks import escalate, new_task

CHUNK = 2000


async def rebuild(engine: Engine, store: Store) -> tuple[list[d.Decision], dict[str, Held]]:
    """Load every agent and live interaction from Redis into the fresh `engine`, then route;
    also the Redis footprint of each live interaction.

    Agents that were present get a fresh presence lease: their desktops reconnect and renew
    it. Offers whose deadline passed are requeued by the first tick; live ones keep theirs.
    """
    now = engine.clock()
    ids = await _members(store, "agents")
    agents = await _hashes(store, [store.keys.agent(a) for a in ids])
    agent_data = [
        _agent(a, fields, engine.config, now) for a, fields in zip(ids, agents, strict=True)
    ]
    known = {a["id"] for a in agent_data}
    live = await _members(store, "live")
    tasks = await _hashes(store, [store.keys.interaction(i) for i in live])
    offers = await _offers(store, tasks)
    task_data = []
    held: dict[str, Held] = {}
    for ix, fields in zip(live, tasks, strict=True):
        data = _task(engine.config, ix, fields, known)
        if data is None:
            continue
        task_data.append(data)
        held[ix] = Held(data["queue"], data["channel"], data["agent"] or "",
                                  data["offer"] or "")  # fmt: skip
    snapshot: dict[str, Any] = {
        "format": FORMAT,
        "seq": max((t["seq"] for t in task_data), default=0),
        "agents": agent_data,
        "tasks": task_data,
        "offers": [[o, ix, agent, deadline] for o, (ix, agent, deadline) in offers.items()],
        "sessions": {},
    }
    return restore(engine, snapshot), held


async def _members(store: Store, which: str) -> list[str]:
    key = store.keys.agents if which == "agents" else store.keys.live
    return sorted(text(m) for m in await store.client.smembers(key))


async def _hashes(store: Store, keys: list[str]) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for chunk in _chunks(keys):
        async with store.client.pipeline(transaction=False) as pipe:
            for key in chunk:
                pipe.hgetall(key)
            for raw in await pipe.execute():
                out.append({text(k): text(v) for k, v in raw.items()})
    return out


def _chunks(items: list[str]) -> Iterator[list[str]]:
    for i in range(0, len(items), CHUNK):
        yield items[i : i + CHUNK]


async def _offers(store: Store, tasks: list[dict[str, str]]) -> dict[str, tuple[str, str, float]]:
    """offer id -> (interaction, agent, deadline) for every open offer."""
    open_ = [t["offer"] for t in tasks if t.get("state") == "offered" and t.get("offer")]
    found = await _hashes(store, [store.keys.offer(o) for o in open_])
    return {
        o: (f["interaction"], f["agent"], float(f["deadline"]))
        for o, f in zip(open_, found, strict=True)
        if f
    }


def _agent(agent_id: str, f: dict[str, str], config: RoutingConfig, now: float) -> dict[str, Any]:
    status = f.get("status", "offline")
    return {
        "id": agent_id,
        "skills": orjson.loads(f.get("skills", "{}")),
        "groups": orjson.loads(f.get("groups", "[]")),
        "capacity": int(f.get("capacity", config.agent_capacity)),
        "caps": {k[4:]: int(v) for k, v in f.items() if k.startswith("cap:")},
        "status": status,
        "lease_until": now + config.presence_lease if status != "offline" else 0.0,
        "idle_since": now,
        "missed": int(f.get("missed", 0)),
    }


def _task(
    config: RoutingConfig, ix: str, f: dict[str, str], agents: set[str]
) -> dict[str, Any] | None:
    """A live interaction as snapshot data; None if it cannot be routed any more."""
    state = f.get("state")
    if state is None or f.get("queue") not in config.queues:
        return None
    if state != TaskState.QUEUED and f.get("agent") not in agents:
        return None
    ev = InteractionArrived(
        ix,
        f["channel"],
        f["queue"],
        int(f["priority"]) if f.get("priority") else None,
        orjson.loads(f.get("skills", "{}")),
        f.get("session") or None,
    )
    task = new_task(config, ev, float(f["arrived_at"]), int(f["pos"]))
    steps = config.queues[task.queue].escalation
    for step in steps[: int(f.get("step", 0))]:
        escalate(task, step)
    excluded = [a for a in f.get("excluded", "").split(",") if a]
    return {
        "id": ix,
        "channel": task.channel,
        "queue": task.queue,
        "priority": task.priority,
        "skills": task.skills,
        "preferred": task.preferred,
        "groups": list(task.groups),
        "arrived_at": task.arrived_at,
        "seq": task.seq,
        "state": state,
        "agent": f.get("agent") or None,
        "offer": f.get("offer") or None,
        "excluded": excluded,
        "step": task.step,
        "session": task.session,
        "sticky_agent": None,
        "sticky_until": 0.0,
        "answered_at": float(f["answered_at"]) if f.get("answered_at") else None,
        "wrap_until": float(f.get("wrap_until", 0.0)),
    }

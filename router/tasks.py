"""Tasks from arrival events, and what an escalation step does to a waiting task."""

from __future__ import annotations

from router.config.model import MAX_LEVEL, MAX_PRIORITY, EscalationStep, Queue, RoutingConfig
from router.errors import InvalidInput
from router.events import InteractionArrived
from router.model import Task


def new_task(config: RoutingConfig, ev: InteractionArrived, now: float, seq: int) -> Task:
    """A queued task with its queue's requirements plus the event's extra skills."""
    queue, skills, priority = check_arrival(config, ev)
    return Task(
        ev.interaction_id,
        ev.channel,
        queue.name,
        priority,
        skills,
        dict(queue.preferred),
        queue.groups,
        now,
        seq,
        session=ev.session_id,
    )


def check_arrival(
    config: RoutingConfig, ev: InteractionArrived
) -> tuple[Queue, dict[str, int], int]:
    """The event's queue, its skills merged with the queue's, and its priority; InvalidInput
    names what is wrong (the API checks a contact with this before it writes anything)."""
    queue = config.queues.get(ev.queue)
    if queue is None:
        raise InvalidInput("queue", f"unknown queue {ev.queue!r}")
    if ev.channel not in queue.channels:
        raise InvalidInput("channel", f"queue {queue.name!r} does not serve {ev.channel!r}")
    skills = dict(queue.skills)
    for name, level in ev.skills.items():
        if name not in config.skills:
            raise InvalidInput(f"skills.{name}", "unknown skill")
        if not 1 <= level <= MAX_LEVEL:
            raise InvalidInput(f"skills.{name}", f"level must be 1..{MAX_LEVEL}")
        skills[name] = max(level, skills.get(name, 0))
    priority = queue.priority if ev.priority is None else ev.priority
    if not 1 <= priority <= MAX_PRIORITY:
        raise InvalidInput("priority", f"must be 1..{MAX_PRIORITY}")
    return queue, skills, priority


def escalate(task: Task, step: EscalationStep) -> None:
    """Apply one step: lower (or drop) skill levels, widen the groups, raise the priority."""
    for skill, level in step.relax_skills.items():
        if level <= 0:
            task.skills.pop(skill, None)
        elif skill in task.skills:
            task.skills[skill] = min(task.skills[skill], level)
    task.groups = tuple(dict.fromkeys((*task.groups, *step.add_groups)))
    task.priority += step.raise_priority
    task.step += 1

"""Escalation: a queue's steps widen a task that has waited long enough for each of them."""

from __future__ import annotations

from collections.abc import Mapping

from router import decisions as d
from router.backlog import Backlog
from router.config.model import RoutingConfig
from router.decisions import Out
from router.dispatch import Dispatcher
from router.model import Task, TaskState
from router.tasks import escalate
from router.timers import TimerKind, Timers


class Escalation:
    """Arms a task's next escalation step and applies it when it falls due."""

    def __init__(
        self,
        config: RoutingConfig,
        tasks: Mapping[str, Task],
        dispatcher: Dispatcher,
        *,
        backlog: Backlog,
        timers: Timers,
    ) -> None:
        self.config = config
        self.tasks = tasks
        self.dispatcher = dispatcher
        self.backlog = backlog
        self.timers = timers

    def arm(self, task: Task) -> None:
        """Arm the timer of the task's next escalation step, if any."""
        steps = self.config.queues[task.queue].escalation
        if task.step < len(steps):
            self.timers.add(task.arrived_at + steps[task.step].after, TimerKind.ESCALATE, task.id)

    def on_timer(self, task_id: str, when: float, out: Out) -> None:
        """A step fell due: apply it to the task if it still waits, and route it again."""
        task = self.tasks.get(task_id)
        if task is None or task.state not in (TaskState.QUEUED, TaskState.OFFERED):
            return
        steps = self.config.queues[task.queue].escalation
        if task.step >= len(steps) or when < task.arrived_at + steps[task.step].after:
            return  # a timer of an earlier leg (before a transfer)
        step = steps[task.step]
        waiting = task.id in self.backlog
        if waiting:
            self.backlog.remove(task)
        escalate(task, step)
        self.arm(task)
        out.append(d.Escalated(task.id, task.step, dict(task.skills), task.groups, task.priority))
        if waiting:
            self.dispatcher.place(task, when, out, None)

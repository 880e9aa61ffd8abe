"""A task's routing requirements in the kernel's terms (indices and masks), and its bucket key."""

from __future__ import annotations

from typing import NamedTuple

from router.config.model import RoutingConfig
from router.model import Task


class Requirement(NamedTuple):
    """What the kernel needs to know to match a task: channel, skills, preferences, groups."""

    channel: int
    skills: tuple[int, ...]
    levels: tuple[int, ...]
    pref_skills: tuple[int, ...]
    pref_levels: tuple[int, ...]
    groups: int


BucketKey = tuple[str, str, int, tuple[tuple[str, int], ...], tuple[str, ...], frozenset[str]]


def requirement_of(config: RoutingConfig, task: Task) -> Requirement:
    """Translate the task's named requirements to kernel indices."""
    skills = sorted((config.skills[s].index, lvl) for s, lvl in task.skills.items() if lvl > 0)
    prefs = sorted((config.skills[s].index, lvl) for s, lvl in task.preferred.items() if lvl > 0)
    return Requirement(
        config.channels[task.channel].index,
        tuple(s for s, _ in skills),
        tuple(lvl for _, lvl in skills),
        tuple(s for s, _ in prefs),
        tuple(lvl for _, lvl in prefs),
        config.group_mask(task.groups),
    )


def bucket_key(task: Task) -> BucketKey:
    """Tasks with equal keys are interchangeable but for their age, so the oldest dominates."""
    return (
        task.queue,
        task.channel,
        task.priority,
        tuple(sorted(task.skills.items())),
        tuple(sorted(task.groups)),
        task.excluded,
    )


class Requirements:
    """Memoized `requirement_of`: tasks of one queue mostly share their requirements."""

    LIMIT = 65_536

    def __init__(self, config: RoutingConfig) -> None:
        self.config = config
        self._memo: dict[tuple[object, ...], Requirement] = {}

    def of(self, task: Task) -> Requirement:
        """The task's requirement, computed once per distinct shape."""
        key = (
            task.channel,
            tuple(task.skills.items()),
            tuple(task.preferred.items()),
            task.groups,
        )
        req = self._memo.get(key)
        if req is None:
            if len(self._memo) >= self.LIMIT:
                self._memo.clear()
            req = self._memo[key] = requirement_of(self.config, task)
        return req

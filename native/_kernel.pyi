"""Types of the compiled routing kernel; the same API as native.kernel_py."""

from collections.abc import Collection, Sequence

from native.batch_py import Task

class AgentIndex:
    def __init__(
        self,
        n_skills: int,
        channel_costs: Sequence[int],
        blocks: Sequence[int],
        interruptible_by: Sequence[int],
        weights: Sequence[float],
        idle_half_life: float,
        size_hint: int = 64,
    ) -> None: ...
    def set_agent(
        self, a: int, levels: Sequence[int], groups: int, capacity: int, caps: Sequence[int]
    ) -> None: ...
    def remove_agent(self, a: int) -> None: ...
    def set_presence(
        self, a: int, routable: bool, lease_until: float, idle_since: float
    ) -> None: ...
    def add_load(self, a: int, channel: int, delta: int) -> None: ...
    def load(self, a: int) -> int: ...
    def count(self, a: int, channel: int) -> int: ...
    def ready(self, a: int, channel: int) -> bool: ...
    def eligible(
        self,
        a: int,
        channel: int,
        skills: Sequence[int],
        levels: Sequence[int],
        groups: int,
        now: float,
    ) -> bool: ...
    def rank(
        self,
        channel: int,
        skills: Sequence[int],
        levels: Sequence[int],
        pref_skills: Sequence[int],
        pref_levels: Sequence[int],
        groups: int,
        now: float,
        exclude: Collection[int],
        k: int,
    ) -> list[int]: ...
    def parts(
        self,
        a: int,
        channel: int,
        skills: Sequence[int],
        levels: Sequence[int],
        pref_skills: Sequence[int],
        pref_levels: Sequence[int],
        now: float,
    ) -> tuple[float, float, float]: ...

class TaskBoard:
    def __init__(self, agents: AgentIndex, size_hint: int = 64) -> None: ...
    def set_bucket(
        self,
        b: int,
        channel: int,
        skills: Sequence[int],
        levels: Sequence[int],
        pref_skills: Sequence[int],
        pref_levels: Sequence[int],
        groups: int,
        priority: int,
        target: float,
    ) -> None: ...
    def set_head(self, b: int, since: float) -> None: ...
    def clear_bucket(self, b: int) -> None: ...
    def rank(self, a: int, now: float, k: int) -> list[int]: ...

def batch_match(agents: AgentIndex, tasks: Sequence[Task], now: float) -> list[int]: ...
def hardware_popcount(on: bool) -> bool | None: ...

"""Twin AgentIndex: agents by slot, readiness bitsets and the agent-side scoring parts."""

from __future__ import annotations

import heapq
import math
from collections.abc import Collection, Sequence

MAX_LEVEL = 5
MAX_CHANNELS = 64
# The compiled kernel copies a task's terms into fixed stack arrays; the twin enforces the same cap.
MAX_TERMS = 64
MAX_SLOT = 2**31 - 1
# Keeps every batch benefit far below 2**63 after scaling by the problem size.
MAX_PRIORITY = 1_000_000
_U64 = 1 << 64
_INF = math.inf


def set_bits(mask: int) -> list[int]:
    """Positions of the set bits of `mask`, ascending."""
    # One bin() and str.find per bit: linear in the mask, where `mask & -mask` loops are quadratic.
    text = bin(mask)[:1:-1]
    out: list[int] = []
    i = text.find("1")
    while i >= 0:
        out.append(i)
        i = text.find("1", i + 1)
    return out


def _put_bit(bits: bytearray, a: int, on: bool) -> None:
    if on:
        bits[a >> 3] |= 1 << (a & 7)
    else:
        bits[a >> 3] &= ~(1 << (a & 7)) & 0xFF


def check_terms(n_skills: int, skills: Sequence[int], levels: Sequence[int]) -> None:
    """Refuse skill/level lists the kernel cannot represent."""
    if len(skills) != len(levels):
        raise ValueError("skills and levels differ in length")
    if len(skills) > MAX_TERMS:
        raise ValueError(f"at most {MAX_TERMS} skill terms")
    for s, lv in zip(skills, levels, strict=True):
        if not 0 <= s < n_skills:
            raise ValueError(f"skill {s} out of range")
        if not 0 <= lv <= MAX_LEVEL:
            raise ValueError(f"level {lv} out of range 0..{MAX_LEVEL}")


TaskSpec = tuple[int, Sequence[int], Sequence[int], Sequence[int], Sequence[int], int, int, float]


def check_task(agents: AgentIndex, spec: TaskSpec) -> None:
    """A task's channel, skills, levels, preferred skills and levels, groups, priority and
    target, checked as the compiled kernel checks them, in the same order."""
    channel, skills, levels, pref_skills, pref_levels, groups, priority, target = spec
    agents._check_channel(channel)
    check_terms(agents._n_skills, skills, levels)
    check_terms(agents._n_skills, pref_skills, pref_levels)
    check_groups(groups)
    check_priority(priority)
    check_target(target)


def check_now(now: float) -> None:
    if not math.isfinite(now):
        raise ValueError("now must be finite")


def check_priority(priority: int) -> None:
    if not 0 <= priority <= MAX_PRIORITY:
        raise ValueError(f"priority must be in 0..{MAX_PRIORITY}")


def check_target(target: float) -> None:
    if not (math.isfinite(target) and target > 0.0):
        raise ValueError("target must be finite and > 0")


def check_groups(groups: int) -> None:
    # OverflowError: what the compiled kernel's uint64 argument conversion raises.
    if not 0 <= groups < _U64:
        raise OverflowError("groups must fit in 64 bits")


class AgentIndex:
    """Agents by dense slot: skills, groups, capacity, load, presence and readiness per channel."""

    def __init__(  # noqa: PLR0917 - the kernel API is positional, like the compiled one
        self,
        n_skills: int,
        channel_costs: Sequence[int],
        blocks: Sequence[int],
        interruptible_by: Sequence[int],
        weights: Sequence[float],
        idle_half_life: float,
        size_hint: int = 64,
    ) -> None:
        n_channels = len(channel_costs)
        if n_skills < 0:
            raise ValueError("n_skills must be >= 0")
        if not 1 <= n_channels <= MAX_CHANNELS:
            raise ValueError(f"1..{MAX_CHANNELS} channels")
        if len(blocks) != n_channels or len(interruptible_by) != n_channels:
            raise ValueError("blocks and interruptible_by need one mask per channel")
        if any(c < 0 for c in channel_costs):
            raise ValueError("channel costs must be >= 0")
        if any(not 0 <= m < (1 << n_channels) for m in (*blocks, *interruptible_by)):
            raise ValueError("channel masks out of range")
        if len(weights) != 5 or any(not (math.isfinite(w) and w >= 0.0) for w in weights):
            raise ValueError("five finite weights >= 0 are needed")
        if not (math.isfinite(idle_half_life) and idle_half_life > 0.0):
            raise ValueError("idle_half_life must be finite and > 0")
        if size_hint < 0:
            raise ValueError("size_hint must be >= 0")
        self._n_skills = n_skills
        self._n_channels = n_channels
        self._cost = [int(c) for c in channel_costs]
        self._blocks = [int(m) for m in blocks]
        self._interruptible_by = [int(m) for m in interruptible_by]
        w = [float(x) for x in weights]
        self._w_fit, self._w_load, self._w_idle, self._w_sla, self._w_prio = w
        self._half_life = float(idle_half_life)
        self._present: list[bool] = []
        self._levels: list[list[int]] = []
        self._total: list[int] = []
        self._groups: list[int] = []
        self._capacity: list[int] = []
        self._caps: list[list[int]] = []
        self._counts: list[list[int]] = []
        self._routable: list[bool] = []
        self._lease: list[float] = []
        self._idle_since: list[float] = []
        self._ready_mask: list[int] = []
        # Bitsets over slots as little-endian bytearrays: setting a bit is O(1), and rank turns
        # the few it needs into ints to AND them.
        self._skill_bits = [[bytearray() for _ in range(MAX_LEVEL)] for _ in range(n_skills)]
        self._ready_bits = [bytearray() for _ in range(n_channels)]
        self._grow(size_hint - 1)

    # -- maintenance ------------------------------------------------------------------------

    def _grow(self, a: int) -> None:
        if a < len(self._present):
            return
        extra = max(a + 1, 2 * len(self._present), 64) - len(self._present)
        zero_c = self._n_channels
        self._present += [False] * extra
        self._levels += [[0] * self._n_skills for _ in range(extra)]
        self._total += [0] * extra
        self._groups += [0] * extra
        self._capacity += [0] * extra
        self._caps += [[0] * zero_c for _ in range(extra)]
        self._counts += [[0] * zero_c for _ in range(extra)]
        self._routable += [False] * extra
        self._lease += [-_INF] * extra
        self._idle_since += [_INF] * extra
        self._ready_mask += [0] * extra
        nbytes = (len(self._present) + 7) >> 3
        for ba in (*self._ready_bits, *(b for row in self._skill_bits for b in row)):
            ba.extend(bytes(nbytes - len(ba)))

    def _check(self, a: int) -> None:
        if not (0 <= a < len(self._present) and self._present[a]):
            raise KeyError(a)

    def _check_channel(self, channel: int) -> None:
        if not 0 <= channel < self._n_channels:
            raise ValueError(f"channel {channel} out of range")

    def _compute_ready(self, a: int) -> int:
        if not (self._present[a] and self._routable[a]):
            return 0
        counts, caps, cap = self._counts[a], self._caps[a], self._capacity[a]
        blocked = 0
        for x, n in enumerate(counts):
            if n:
                blocked |= self._blocks[x]
        mask = 0
        for c in range(self._n_channels):
            if blocked >> c & 1 or counts[c] >= caps[c]:
                continue
            used = 0
            for x, n in enumerate(counts):
                if not self._interruptible_by[x] >> c & 1:
                    used += n * self._cost[x]
            if used + self._cost[c] <= cap:
                mask |= 1 << c
        return mask

    def _refresh(self, a: int) -> None:
        old, new = self._ready_mask[a], self._compute_ready(a)
        for c in set_bits(old ^ new):
            _put_bit(self._ready_bits[c], a, bool(new >> c & 1))
        self._ready_mask[a] = new

    def _set_levels(self, a: int, levels: Sequence[int]) -> None:
        row = self._levels[a]
        for s, new in enumerate(levels):
            old = row[s]
            if old == new:
                continue
            bits = self._skill_bits[s]
            for lv in range(old, new) if new > old else range(new, old):
                _put_bit(bits[lv], a, new > old)
            row[s] = new
        self._total[a] = sum(row)

    def set_agent(
        self, a: int, levels: Sequence[int], groups: int, capacity: int, caps: Sequence[int]
    ) -> None:
        if not 0 <= a <= MAX_SLOT:
            raise ValueError(f"agent slot {a} out of range")
        if len(levels) != self._n_skills or any(not 0 <= x <= MAX_LEVEL for x in levels):
            raise ValueError(f"levels need {self._n_skills} values in 0..{MAX_LEVEL}")
        if len(caps) != self._n_channels or any(x < 0 for x in caps):
            raise ValueError(f"caps need {self._n_channels} values >= 0")
        check_groups(groups)
        if capacity < 0:
            raise ValueError("capacity must be >= 0")
        self._grow(a)
        if not self._present[a]:
            self._present[a] = True
            self._counts[a] = [0] * self._n_channels
            self._routable[a] = False
            self._lease[a] = -_INF
            self._idle_since[a] = _INF
        self._set_levels(a, [int(x) for x in levels])
        self._groups[a] = int(groups)
        self._capacity[a] = int(capacity)
        self._caps[a] = [int(x) for x in caps]
        self._refresh(a)

    def remove_agent(self, a: int) -> None:
        self._check(a)
        self._set_levels(a, [0] * self._n_skills)
        self._present[a] = False
        self._refresh(a)

    def set_presence(self, a: int, routable: bool, lease_until: float, idle_since: float) -> None:
        self._check(a)
        if math.isnan(lease_until):
            raise ValueError("lease_until must not be NaN")
        if math.isnan(idle_since) or idle_since == -_INF:
            raise ValueError("idle_since must be finite or +inf")
        self._routable[a] = bool(routable)
        self._lease[a] = float(lease_until)
        self._idle_since[a] = float(idle_since)
        self._refresh(a)

    def add_load(self, a: int, channel: int, delta: int) -> None:
        self._check(a)
        self._check_channel(channel)
        n = self._counts[a][channel] + delta
        if n < 0:
            raise ValueError("load would go below zero")
        self._counts[a][channel] = n
        self._refresh(a)

    # -- queries ----------------------------------------------------------------------------

    def load(self, a: int) -> int:
        self._check(a)
        return sum(n * c for n, c in zip(self._counts[a], self._cost, strict=True))

    def count(self, a: int, channel: int) -> int:
        self._check(a)
        self._check_channel(channel)
        return self._counts[a][channel]

    def ready(self, a: int, channel: int) -> bool:
        self._check(a)
        self._check_channel(channel)
        return bool(self._ready_mask[a] >> channel & 1)

    def _holds(self, a: int, skills: Sequence[int], levels: Sequence[int], groups: int) -> bool:
        """Skills and groups part of eligibility (no readiness, no lease)."""
        row = self._levels[a]
        if any(row[s] < lv for s, lv in zip(skills, levels, strict=True)):
            return False
        return groups == 0 or bool(self._groups[a] & groups)

    def eligible(  # noqa: PLR0917 - the kernel API is positional, like the compiled one
        self,
        a: int,
        channel: int,
        skills: Sequence[int],
        levels: Sequence[int],
        groups: int,
        now: float,
    ) -> bool:
        self._check(a)
        self._check_channel(channel)
        check_terms(self._n_skills, skills, levels)
        check_groups(groups)
        check_now(now)
        if not (self._ready_mask[a] >> channel & 1) or self._lease[a] < now:
            return False
        return self._holds(a, skills, levels, groups)

    def _fit(
        self, a: int, base: int, pref_skills: Sequence[int], pref_levels: Sequence[int]
    ) -> float:
        row = self._levels[a]
        need = base
        for s, lv in zip(pref_skills, pref_levels, strict=True):
            need += row[s] if row[s] < lv else lv
        total = self._total[a]
        if total <= 0:
            return 1.0
        f = need / total
        return f if f < 1.0 else 1.0

    def _load_part(self, a: int) -> float:
        cap = self._capacity[a]
        if cap == 0:
            return 0.0
        used = sum(n * c for n, c in zip(self._counts[a], self._cost, strict=True))
        v = 1.0 - used / cap
        return 0.0 if v < 0.0 else v

    def _idle_part(self, a: int, now: float) -> float:
        d = now - self._idle_since[a]
        if not d > 0.0:
            return 0.0
        return d / (d + self._half_life)

    def _candidates(
        self, channel: int, skills: Sequence[int], levels: Sequence[int], groups: int, now: float
    ) -> list[int]:
        """Slots eligible for the task, ascending (exclusions not applied)."""
        mask = int.from_bytes(self._ready_bits[channel], "little")
        for s, lv in zip(skills, levels, strict=True):
            if lv > 0 and mask:
                mask &= int.from_bytes(self._skill_bits[s][lv - 1], "little")
        lease, agroups = self._lease, self._groups
        return [
            a for a in set_bits(mask) if lease[a] >= now and (groups == 0 or agroups[a] & groups)
        ]

    def rank(  # noqa: PLR0917 - the kernel API is positional, like the compiled one
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
    ) -> list[int]:
        self._check_channel(channel)
        check_terms(self._n_skills, skills, levels)
        check_terms(self._n_skills, pref_skills, pref_levels)
        check_groups(groups)
        check_now(now)
        if k <= 0:
            return []
        excluded = set(exclude)
        base = sum(levels)
        wf, wl, wi = self._w_fit, self._w_load, self._w_idle
        scored = []
        for a in self._candidates(channel, skills, levels, groups, now):
            if a in excluded:
                continue
            fit = self._fit(a, base, pref_skills, pref_levels)
            score = wf * fit + wl * self._load_part(a) + wi * self._idle_part(a, now)
            scored.append((-score, a))
        return [a for _, a in heapq.nsmallest(k, scored)]

    def parts(  # noqa: PLR0917 - the kernel API is positional, like the compiled one
        self,
        a: int,
        channel: int,
        skills: Sequence[int],
        levels: Sequence[int],
        pref_skills: Sequence[int],
        pref_levels: Sequence[int],
        now: float,
    ) -> tuple[float, float, float]:
        self._check(a)
        self._check_channel(channel)
        check_terms(self._n_skills, skills, levels)
        check_terms(self._n_skills, pref_skills, pref_levels)
        check_now(now)
        fit = self._fit(a, sum(levels), pref_skills, pref_levels)
        return (fit, self._load_part(a), self._idle_part(a, now))

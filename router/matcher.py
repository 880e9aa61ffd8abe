"""Matching decisions through the kernel: best agent for a task, best task for an agent, batches."""

from __future__ import annotations

from native import batch_match
from router.backlog import Backlog, Bucket
from router.config.model import MAX_PRIORITY, RoutingConfig
from router.decisions import Candidate, Explanation
from router.model import Agent, Task
from router.requirements import Requirement, Requirements
from router.roster import Roster

RUNNERS_UP = 2


class Matcher:
    """Asks the kernel for matches and explains each one."""

    def __init__(self, config: RoutingConfig, roster: Roster, backlog: Backlog) -> None:
        self.config = config
        self.roster = roster
        self.backlog = backlog
        self.requirements = Requirements(config)
        w = config.scoring
        self._agent_weights = (w.skill_fit, w.load, w.idle)
        self.weights = {
            "skill_fit": w.skill_fit,
            "load": w.load,
            "idle": w.idle,
            "sla_urgency": w.sla_urgency,
            "priority": w.priority,
        }

    def agent_for(self, task: Task, now: float) -> tuple[Agent, Explanation] | None:
        """The best eligible agent for the task, or None when nobody can take it now."""
        req = self.requirements.of(task)
        excluded = self._slots(task.excluded) if task.excluded else ()
        slots = self.roster.index.rank(*req, now, excluded, RUNNERS_UP + 1)
        if not slots:
            return None
        cands = self._agent_candidates(slots, task, req, now)
        expl = Explanation("best_agent", cands[0], tuple(cands[1:]), self.weights)
        return self.roster.at(slots[0]), expl

    def _slots(self, agent_ids: frozenset[str]) -> list[int]:
        return [self.roster.get(a).slot for a in agent_ids if a in self.roster]

    def _agent_candidates(
        self, slots: list[int], task: Task, req: Requirement, now: float
    ) -> list[Candidate]:
        # One loop, not a call per candidate: this runs for most offers.
        parts, at = self.roster.index.parts, self.roster.at
        wf, wl, wi = self._agent_weights
        channel, skills, levels, pref_skills, pref_levels = req[:5]
        cands = []
        for slot in slots:
            fit, load, idle = parts(slot, channel, skills, levels, pref_skills, pref_levels, now)
            score = wf * fit + wl * load + wi * idle
            detail = {"skill_fit": fit, "load": load, "idle": idle}
            cands.append(Candidate(at(slot).id, task.id, score, detail))
        return cands

    def task_for(self, agent: Agent, now: float) -> tuple[Task, Explanation] | None:
        """The best waiting task the agent may take, or None."""
        k = RUNNERS_UP + 2
        while True:
            ids = self.backlog.board.rank(agent.slot, now, k)
            buckets = [self.backlog.bucket(b) for b in ids]
            allowed = [b for b in buckets if agent.id not in b.excluded]
            if allowed or len(ids) < k:
                break
            k *= 4  # every bucket ranked so far excludes this agent: look further
        if not allowed:
            return None
        cands = [self._task_candidate(agent, b, now) for b in allowed[: RUNNERS_UP + 1]]
        expl = Explanation("best_task", cands[0], tuple(cands[1:]), self.weights)
        return self.backlog.head(allowed[0]), expl

    def _task_candidate(self, agent: Agent, bucket: Bucket, now: float) -> Candidate:
        task = self.backlog.head(bucket)
        fit = self.roster.index.parts(agent.slot, *bucket.req[:5], now)[0]
        target = self.config.queues[bucket.queue].service_level.within
        prio = bucket.priority / float(MAX_PRIORITY)
        urgency = max(0.0, now - task.arrived_at) / target
        w = self.config.scoring
        score = w.priority * prio + w.sla_urgency * urgency + w.skill_fit * fit
        parts = {"priority": prio, "sla_urgency": urgency, "skill_fit": fit}
        return Candidate(agent.id, task.id, score, parts)

    def batch(self, free: int, now: float) -> list[tuple[Task, Agent, Explanation]]:
        """Match waiting tasks to routable agents in one go, maximizing the total score."""
        tasks = [t for b in self.backlog.buckets() for t in self.backlog.first(b, free)]
        if not tasks:
            return []
        specs = []
        for t in tasks:
            req = self.requirements.of(t)
            target = self.config.queues[t.queue].service_level.within
            excluded = self._slots(t.excluded)
            specs.append((*req, t.priority, target, t.arrived_at, excluded))
        chosen = batch_match(self.roster.index, specs, now)
        out = []
        for task, slot in zip(tasks, chosen, strict=True):
            if slot >= 0:
                req = self.requirements.of(task)
                (cand,) = self._agent_candidates([slot], task, req, now)
                out.append(
                    (task, self.roster.at(slot), Explanation("batch", cand, (), self.weights))
                )
        return out

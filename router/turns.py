"""One turn of the routing loop: new contacts to Redis, the engine over every event, and the
decisions committed before anyone is told.

Requests hand their event to the loop and wait. The loop takes everything waiting at once:
it sends new contacts' enqueues to Redis in small batches, runs the engine over every other
event and over the contacts Redis has stored by now, and sends all the resulting decisions as
one commit. It does not wait for either round trip: it goes on with the next turn, takes each
batch of contacts once stored, and answers a turn's requests once its commit is in, turn after
turn in order. While the round trips run, the next requests gather, so the batch grows with
the load; the small enqueue batches keep routerd busy while Redis runs the last ones.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from dataclasses import dataclass
from typing import Any

import structlog
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from router import decisions as d
from router import events as e
from router.alarm import Alarm
from router.clock import Clock
from router.commits import Committer
from router.config.model import RoutingConfig
from router.engine import Engine
from router.errors import RouterdError, Unavailable
from router.jobs import Intake, Job, Publisher
from router.redis_line import Sent
from router.stats import Stats
from router.store import Ingested, Outcome, Store, ingested
from router.transitions import Op

log = structlog.get_logger("routerd.service")

REDIS_DOWN = (RedisConnectionError, RedisTimeoutError)
# Commits sent and not answered yet: past this, a turn waits for the oldest before sending.
MAX_IN_FLIGHT = 2
# New contacts go to Redis in batches of this many; each is routed in the first turn after it
# is in, and its clients answered with that turn, not when the whole turn's contacts are in.
INTAKE_CHUNK = 16
# Enqueue batches sent and not answered yet: past this, a turn waits for the oldest.
MAX_INTAKE = 16
RETRY_AFTER = 1


@dataclass(frozen=True, slots=True)
class Failed:
    """What a failed turn, commit or rebuild leaves the loop: its error's text, not the error,
    whose frames (an engine half read, say) the recovery that follows must not keep alive."""

    error: str
    redis_down: bool


class Turns:
    """The engine, and the turns that drive it and commit what it decides."""

    def __init__(
        self, config: RoutingConfig, store: Store, publisher: Publisher | None, clock: Clock
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.publisher = publisher or Publisher()
        self.engine = Engine(config, clock)
        self.committer = Committer(store, clock)
        self.stats = Stats()
        self._wake = Alarm()
        self._diverged = False  # a commit was refused: Redis and the engine disagree
        # Enqueues sent when Redis went away: answered 503, so undone if Redis ran them.
        self._doubtful: list[Op] = []
        self._in_flight: deque[asyncio.Task[None]] = deque()  # finishing commits, in order
        self._broken: Failed | None = None  # Redis failed under a commit in flight
        self._intake: deque[Intake] = deque()  # enqueues on the wire, in the order sent

    async def _step(self, jobs: list[Job]) -> None:
        """One turn. New contacts' enqueues go out at once, and the turn does not wait for
        them: the engine takes contacts once Redis has stored them, in whichever turn runs
        then. The contacts it takes join `jobs`, so that a turn that fails answers them too."""
        fresh = [j for j in jobs if j.enqueue is not None]
        for start in range(0, len(fresh), INTAKE_CHUNK):
            chunk = fresh[start : start + INTAKE_CHUNK]
            ops = [j.enqueue for j in chunk if j.enqueue is not None]
            sent = await self._send(ops, intake=True)
            sent.add_done_callback(lambda _: self._wake.set())
            self._intake.append(Intake(chunk, ops, sent))
        turn = [j for j in jobs if j.enqueue is None]
        commit: list[Op] = []
        self._handle(turn, commit)
        while self._landed() or len(self._intake) > MAX_INTAKE:
            batch = self._intake.popleft()
            jobs += batch.jobs
            turn += batch.jobs
            await self._stored(batch.jobs, batch.ops, batch.sent)
            self._handle(batch.jobs, commit)
        if not jobs:  # no request and no contact stored: woken for a deadline
            commit = self._decided(self.engine.handle(e.Tick()))
        await self._commit(commit, turn)

    def _landed(self) -> bool:
        """Whether Redis answered the oldest enqueue batch on the wire."""
        return bool(self._intake) and self._intake[0].sent.done()

    def _handle(self, jobs: list[Job], ops: list[Op]) -> None:
        """Run the jobs' events through the engine; what commits them goes into `ops`."""
        for job in jobs:
            if job.event is None or job.future.done():
                continue
            try:
                job.decisions = self.engine.handle(job.event)
            except RouterdError as err:
                self._refused(job, err)
                continue
            start = len(ops)
            if job.extra is not None:
                ops += job.extra()
            ops += self.committer.for_event(job.event)
            ops += self._decided(job.decisions)
            job.ops = range(start, len(ops))

    async def _commit(self, ops: list[Op], jobs: list[Job]) -> None:
        """Send the turn's commit; it is answered once in, while the next turns run."""
        if not ops and not self._in_flight:
            for job in jobs:  # nothing to wait for, nothing to keep in order with
                if not job.future.done():
                    job.future.set_result(self._answer(job))
            return
        while len(self._in_flight) >= MAX_IN_FLIGHT:
            await self._in_flight[0]
        sent = await self.store.send_all(ops) if ops else None
        before = self._in_flight[-1] if self._in_flight else None
        self._in_flight.append(asyncio.create_task(self._finish(before, sent, ops, jobs)))

    async def _finish(
        self, before: asyncio.Task[None] | None, sent: Sent | None, ops: list[Op], jobs: list[Job]
    ) -> None:
        """Tell agents and answer requests once the commit is in, after the turn before did.
        Never raises: the next turn's finisher waits for this one."""
        try:
            if before is not None:
                await before
            outcomes = await self.store.outcomes(sent) if sent is not None else []
            refused = self._publish(ops, outcomes)
        except REDIS_DOWN as err:
            for job in jobs:
                self._fail(job, Unavailable("redis is unreachable", RETRY_AFTER))
            self._broken = self._broken or Failed(str(err), redis_down=True)
            self._wake.set()
            return
        except Exception:  # the loop must outlive a bug in one commit
            log.exception("routing_commit_failed", then="rebuild_from_redis")
            for job in jobs:
                self._fail(job, Unavailable("routing state was rebuilt; retry"))
            self._diverged = True
            self._wake.set()
            return
        finally:
            self._in_flight.popleft()  # finishers end in the order they were made
        if self._diverged:
            self._wake.set()
        for job in jobs:
            if refused and not refused.isdisjoint(job.ops):
                self._fail(job, Unavailable("routing state was rebuilt; retry"))
            elif not job.future.done():
                job.future.set_result(self._answer(job))

    async def _settle(self) -> list[Job]:
        """Wait until Redis answered everything sent: the commits in flight, then the
        enqueues. Returns the jobs of those contacts, for a caller that will not route them
        now (the next rebuild finds the stored ones)."""
        while self._in_flight:
            await self._in_flight[-1]
        stranded: list[Job] = []
        while self._intake:
            batch = self._intake.popleft()
            stranded += batch.jobs
            with contextlib.suppress(*REDIS_DOWN):  # then its enqueues are doubtful: withdrawn
                await self._stored(batch.jobs, batch.ops, batch.sent)
        return stranded

    def _answer(self, job: Job) -> Any:
        if job.ingest and isinstance(job.event, e.InteractionArrived):
            return Ingested(job.event.interaction_id, created=True)
        return job.decisions

    def _refused(self, job: Job, err: RouterdError) -> None:
        if not job.ingest:
            job.future.set_exception(err)
            return
        # The contact is already durable: it is answered as accepted and routed after the
        # next rebuild; the API validates arrivals first, so this is not expected.
        log.error("stored_contact_refused", error=str(err))
        job.future.set_result(self._answer(job))

    async def _send(self, ops: list[Op], *, intake: bool = False) -> Sent:
        try:
            return await self.store.send_all(ops, intake=intake)
        except REDIS_DOWN:
            if intake:
                self._doubtful += ops
            raise

    async def _stored(self, new: list[Job], ops: list[Op], sent: Sent) -> None:
        """Phase one: new contacts made durable; repeats skip the engine."""
        try:
            outcomes = await self.store.outcomes(sent, rerun=ops)
        except REDIS_DOWN:
            self._doubtful += ops
            raise
        for job, outcome in zip(new, outcomes, strict=True):
            job.enqueue = None
            assert isinstance(job.event, e.InteractionArrived)
            try:
                result = ingested(outcome, job.event.interaction_id)
            except RouterdError as err:
                job.future.set_exception(err)
                continue
            if result.created:
                job.stored = True
                self.stats.arrived(job.event.queue)
                self.committer.arrived(
                    result.id, job.event.queue, job.event.channel, job.event.session_id
                )
            else:
                job.future.set_result(result)

    def _decided(self, decisions: list[d.Decision]) -> list[Op]:
        """The ops that commit the decisions, each counted as its ops are built (while its
        interaction is still known, in the queue it is in then)."""
        return self.committer.for_decisions(decisions, self._count)

    def _count(self, dec: d.Decision, queue: str | None) -> None:
        self.stats.observe(self.engine, dec, queue)

    async def _run(self, ops: list[Op]) -> None:
        """Phase two: commit, then (only then) tell agents."""
        outcomes = await self.store.run_all(ops)
        self._publish(ops, outcomes)

    def _publish(self, ops: list[Op], outcomes: list[Outcome]) -> set[int]:
        """Tell agents what the commit wrote; the indexes of the ops Redis refused."""
        refused: set[int] = set()
        for i, (op, outcome) in enumerate(zip(ops, outcomes, strict=True)):
            if not outcome.ok:
                log.error("commit_refused", detail=outcome.detail, then="rebuild_from_redis")
                self._diverged = True
                refused.add(i)
                continue
            if outcome.seq > 0 and op.agent is not None:
                self.publisher.publish(op.agent, outcome.seq, op.payload)
        return refused

    def _fail(self, job: Job, err: RouterdError) -> None:
        """Refuse a request the turn could not finish; a stored contact is still accepted
        (the rebuild finds and routes it), so its client does not send it twice."""
        if job.future.done():
            return
        if job.stored:
            job.future.set_result(self._answer(job))
        else:
            job.future.set_exception(err)

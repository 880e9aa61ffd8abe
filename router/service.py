"""The daemon's routing loop: one engine, driven by a real clock, committing through the store.

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
import gc
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

import structlog
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from router import decisions as d
from router import events as e
from router.alarm import Alarm
from router.clock import Clock, wall_clock
from router.commits import Committer
from router.config.model import RoutingConfig
from router.engine import Engine
from router.errors import ReloadRefused, RouterdError, Unavailable
from router.jobs import Intake, Job, Publisher
from router.rebuild import Rebuilt, rebuild, warn
from router.redis_line import Sent
from router.reload import Reloaded, check_kept, check_tenant, restart_needed
from router.stats import Stats
from router.store import Ingested, Outcome, Store, ingested
from router.tasks import check_arrival
from router.transitions import Arg, Op

log = structlog.get_logger("routerd.service")

REDIS_DOWN = (RedisConnectionError, RedisTimeoutError)
MAX_BATCH = 1024
# Commits sent and not answered yet: past this, a turn waits for the oldest before sending.
MAX_IN_FLIGHT = 2
# New contacts go to Redis in batches of this many; each is routed in the first turn after it
# is in, and its clients answered with that turn, not when the whole turn's contacts are in.
INTAKE_CHUNK = 16
# Enqueue batches sent and not answered yet: past this, a turn waits for the oldest.
MAX_INTAKE = 16
RETRY_AFTER = 1
RESYNC_PAUSE = 1.0


class Router:
    """Owns the engine; the only writer of routing state to Redis."""

    def __init__(
        self,
        config: RoutingConfig,
        store: Store,
        publisher: Publisher | None = None,
        clock: Clock = wall_clock,
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.publisher = publisher or Publisher()
        self.engine = Engine(config, clock)
        self.committer = Committer(store, clock)
        self.stats = Stats()
        self.ready = False
        self._jobs: list[Job] = []
        self._wake = Alarm()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._diverged = False  # a commit was refused: Redis and the engine disagree
        self._last_resync = -RESYNC_PAUSE
        # Enqueues sent when Redis went away: answered 503, so undone if Redis ran them.
        self._doubtful: list[Op] = []
        self._in_flight: deque[asyncio.Task[None]] = deque()  # finishing commits, in order
        self._broken: BaseException | None = None  # Redis failed under a commit in flight
        self._intake: deque[Intake] = deque()  # enqueues on the wire, in the order sent
        self._reloads: deque[tuple[RoutingConfig, asyncio.Future[Reloaded]]] = deque()

    # -- life ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Rebuild the engine from Redis and start routing."""
        await self._rebuild()
        self._task = asyncio.create_task(self._loop(), name="routerd-loop")

    async def stop(self) -> None:
        """Finish the work already handed in, then stop."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task

    async def _rebuild(self) -> None:
        self.ready = False
        began = time.monotonic()
        engine, rebuilt = await self._read(self.config)
        warn(rebuilt)
        await self._swap(engine, rebuilt)
        self.ready = True
        log.info("engine_rebuilt", interactions=len(self.engine.tasks),
                 agents=len(self.engine.roster),
                 took_s=round(time.monotonic() - began, 3))  # fmt: skip

    async def _read(self, config: RoutingConfig) -> tuple[Engine, Rebuilt]:
        """A fresh engine under `config`, loaded from Redis; nothing is written."""
        engine = Engine(config, self.clock)
        # A rebuild makes hundreds of thousands of long-lived objects: collecting while it runs
        # costs twice the rebuild itself. Afterwards they are frozen out of every collection.
        gc.unfreeze()
        gc.disable()
        try:
            return engine, await rebuild(engine, self.store)
        finally:
            gc.enable()

    async def _swap(self, engine: Engine, rebuilt: Rebuilt) -> None:
        # Swapped only once whole: requests read the engine while it is being rebuilt.
        self.engine, self.committer.held = engine, rebuilt.held
        gc.freeze()
        await self._run(self._decided(rebuilt.decisions))

    async def reload(self, config: RoutingConfig) -> Reloaded:
        """Route by `config` from the next turn on, the engine rebuilt from Redis under it;
        ReloadRefused (and the file in force stays) if it names another tenant or would stop
        routing a live interaction. Requests wait while it runs."""
        check_tenant(self.config, config)
        if not self.ready or self._stopping:
            raise Unavailable("routing is not available", RETRY_AFTER)
        done: asyncio.Future[Reloaded] = asyncio.get_running_loop().create_future()
        self._reloads.append((config, done))
        self._wake.set()
        return await done

    async def _reload(self, config: RoutingConfig, done: asyncio.Future[Reloaded]) -> None:
        """One turn: Redis brought up to date, read under `config`, and swapped in if whole."""
        began = time.monotonic()
        try:
            await self._drain()
            engine, rebuilt = await self._read(config)
            try:
                check_kept(rebuilt, self.engine.tasks)
            except ReloadRefused as err:
                del engine, rebuilt
                gc.collect()  # what the refused engine made, before it is frozen with the rest
                gc.freeze()
                done.set_exception(err)
                return
            old, self.config = self.config, config
            self.store.reconfigure(config)
            warn(rebuilt)
            await self._swap(engine, rebuilt)
            self._jobs = [job for job in self._jobs if self._still_routed(job)]
        except BaseException as err:
            if not done.done():
                done.set_exception(err)
            raise
        took = round(time.monotonic() - began, 3)
        done.set_result(Reloaded(config.source, len(engine.tasks), len(engine.roster),
                                 rebuilt.trimmed, restart_needed(old, config), took))  # fmt: skip

    async def _drain(self) -> None:
        """Route the contacts on the wire and wait for every commit: then Redis holds all
        that the engine knows."""
        while self._intake:
            await asyncio.wait([self._intake[0].sent])
            await self._step([])
        while self._in_flight:
            await self._in_flight[-1]

    def _still_routed(self, job: Job) -> bool:
        """Whether a waiting contact, classified before the reload, has a place in the new
        file; if not it is refused, not stored, and its client sends it again."""
        if not (job.ingest and isinstance(job.event, e.InteractionArrived)):
            return True
        try:
            check_arrival(self.config, job.event)
        except RouterdError:
            self._fail(job, Unavailable("the routing file changed; send the contact again"))
            return False
        return True

    # -- requests --------------------------------------------------------------------------

    async def submit(
        self, event: e.Event, extra: Callable[[], list[Op]] | None = None
    ) -> list[d.Decision]:
        """Apply an event and commit what it decided; RouterdError if the engine refused it.

        `extra` builds ops that commit the event itself (it runs after the engine took it).
        """
        job = self._job(event, extra=extra)
        await job.future
        return job.decisions

    async def ingest(
        self,
        arrival: e.InteractionArrived,
        fields: Mapping[str, Arg],
        idempotency_key: str | None,
    ) -> Ingested:
        """Make a contact durable (once per key), then route it; answers once it is in Redis."""
        op = self.store.ops.enqueue(arrival.interaction_id, arrival.queue, fields, idempotency_key)
        job = self._job(arrival, enqueue=op, ingest=True)
        result: Ingested = await job.future
        return result

    def _job(self, event: e.Event, **kw: Any) -> Job:
        if not self.ready or self._stopping:
            raise Unavailable("routing is not available", RETRY_AFTER)
        job = Job(event, asyncio.get_running_loop().create_future(), **kw)
        self._jobs.append(job)
        self._wake.set()
        return job

    # -- the loop --------------------------------------------------------------------------

    async def _loop(self) -> None:
        while not (self._stopping and not self._jobs and not self._intake):
            if not self._jobs and not self._landed() and not self._reloads:
                await self._sleep()
            jobs: list[Job] = []
            if self._reloads:
                turn = self._reload(*self._reloads.popleft())
            else:
                jobs, self._jobs = self._jobs[:MAX_BATCH], self._jobs[MAX_BATCH:]
                if not self._jobs:
                    self._wake.clear()
                turn = self._step(jobs)
            try:
                await turn
            except REDIS_DOWN as err:
                await self._outage([*jobs, *await self._settle()], err)
            except Exception:  # the loop must outlive a bug in one turn
                log.exception("routing_turn_failed", then="rebuild_from_redis")
                await self._resync([*jobs, *await self._settle()])
            if self._broken is not None:
                stranded = await self._settle()
                broken, self._broken = self._broken, None
                await self._outage(stranded, broken)
            if self._diverged:
                await self._resync(await self._settle())
        await self._settle()
        for _, done in self._reloads:
            done.set_exception(Unavailable("routerd is stopping"))

    async def _resync(self, jobs: list[Job]) -> None:
        """Fail the turn's requests and rebuild the engine from Redis, the truth."""
        self._diverged = False
        # A disagreement that survives a rebuild would otherwise rebuild in a tight loop.
        pause = self._last_resync + RESYNC_PAUSE - time.monotonic()
        if pause > 0:
            await asyncio.sleep(pause)
        self._last_resync = time.monotonic()
        for job in jobs:
            self._fail(job, Unavailable("routing state was rebuilt; retry"))
        try:
            await self._rebuild()
        except REDIS_DOWN as err:
            await self._outage([], err)

    async def _sleep(self) -> None:
        deadline = self.engine.next_deadline()
        await self._wake.wait(None if deadline is None else deadline - self.clock())

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
            if job.extra is not None:
                ops += job.extra()
            ops += self.committer.for_event(job.event)
            ops += self._decided(job.decisions)

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
            self._publish(ops, outcomes)
        except REDIS_DOWN as err:
            for job in jobs:
                self._fail(job, Unavailable("redis is unreachable", RETRY_AFTER))
            self._broken = self._broken or err
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
            if not job.future.done():
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
                self.stats.ingested += 1
                self.committer.arrived(
                    result.id, job.event.queue, job.event.channel, job.event.session_id
                )
            else:
                job.future.set_result(result)

    def _decided(self, decisions: list[d.Decision]) -> list[Op]:
        """Count the decisions (while their interactions are still known), then build ops."""
        held = self.committer.held
        for dec in decisions:
            ix = getattr(dec, "interaction_id", None)
            h = held.get(ix) if ix is not None else None
            self.stats.observe(self.engine, dec, h.queue if h is not None else None)
        return self.committer.for_decisions(decisions)

    async def _run(self, ops: list[Op]) -> None:
        """Phase two: commit, then (only then) tell agents."""
        outcomes = await self.store.run_all(ops)
        self._publish(ops, outcomes)

    def _publish(self, ops: list[Op], outcomes: list[Outcome]) -> None:
        for op, outcome in zip(ops, outcomes, strict=True):
            if not outcome.ok:
                log.error("commit_refused", detail=outcome.detail, then="rebuild_from_redis")
                self._diverged = True
                continue
            if outcome.seq > 0 and op.agent is not None:
                self.publisher.publish(op.agent, outcome.seq, op.payload)

    # -- Redis outages ---------------------------------------------------------------------

    async def _withdraw(self) -> None:
        """Keep the 503s true: undo the enqueues Redis ran after routerd gave up on them."""
        if self._doubtful:
            outcomes = await self.store.run_all(
                [self.store.ops.withdraw(op) for op in self._doubtful]
            )
            gone = sum(o.detail == "withdrawn" for o in outcomes)
            log.info("unanswered_contacts_withdrawn", withdrawn=gone, doubtful=len(outcomes))
            self._doubtful = []

    def _fail(self, job: Job, err: RouterdError) -> None:
        """Refuse a request the turn could not finish; a stored contact is still accepted
        (the rebuild finds and routes it), so its client does not send it twice."""
        if job.future.done():
            return
        if job.stored:
            job.future.set_result(self._answer(job))
        else:
            job.future.set_exception(err)

    async def _outage(self, jobs: list[Job], err: BaseException) -> None:
        """Fail what was in flight, wait for Redis, then rebuild from it and go on."""
        self.ready = False
        log.error("routing_paused", reason="redis_unreachable", error=str(err))
        for job in [*jobs, *self._jobs]:
            self._fail(job, Unavailable("redis is unreachable", RETRY_AFTER))
        self._jobs = []
        while not self._stopping:
            try:
                await self.store.client.ping()
                await self._withdraw()
                await self._rebuild()
                log.info("routing_resumed")
                return
            except REDIS_DOWN:
                await asyncio.sleep(0.5)

"""The routing loop's life: started by a rebuild from Redis, put under a new routing file by
a reload, paused and rebuilt through a Redis outage, and stopped once its work is done. Each
of its turns is `Turns`'."""

from __future__ import annotations

import asyncio
import gc
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import structlog

from router import decisions as d
from router import events as e
from router.clock import Clock, wall_clock
from router.config.model import RoutingConfig
from router.engine import Engine
from router.errors import RouterdError, Unavailable
from router.gc_policy import compact
from router.jobs import Job, Publisher
from router.rebuild import Rebuilt, rebuild, warn
from router.reload import Reloaded, check_kept, check_tenant, restart_needed
from router.store import Ingested, Store
from router.tasks import check_arrival
from router.transitions import Arg, Op
from router.turns import REDIS_DOWN, RETRY_AFTER, Failed, Turns

__all__ = ["REDIS_DOWN", "RETRY_AFTER", "Router"]

log = structlog.get_logger("routerd.service")

MAX_BATCH = 1024
RESYNC_PAUSE = 1.0
# Between tries at rebuilding while routing is paused: Redis is waited for at the first pause;
# a rebuild that fails for another reason (a bug) is tried again less and less often.
RETRY_PAUSE = 0.5
MAX_RETRY_PAUSE = 8.0


class Router(Turns):
    """Owns the engine; the only writer of routing state to Redis."""

    def __init__(
        self,
        config: RoutingConfig,
        store: Store,
        publisher: Publisher | None = None,
        clock: Clock = wall_clock,
    ) -> None:
        super().__init__(config, store, publisher, clock)
        self.ready = False
        self._jobs: list[Job] = []
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._last_resync = -RESYNC_PAUSE
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
        self._install(engine, rebuilt)
        # Before the rebuild's own decisions, so that each desk gets its events in order.
        await self.publisher.catch_up(self.store)
        await self._run(self._decided(rebuilt.decisions))
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

    def _install(self, engine: Engine, rebuilt: Rebuilt) -> None:
        """Swap the rebuilt engine in (whole: requests read the engine while it is rebuilt)."""
        old, self.engine, self.committer.held = self.engine, engine, rebuilt.held
        if old.tasks or len(old.roster):  # not the empty one of a start
            del old
            compact()  # the old engine's cycles
        else:
            gc.freeze()

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

    async def _reload(
        self, config: RoutingConfig, done: asyncio.Future[Reloaded], taken: list[Job]
    ) -> None:
        """One turn: Redis brought up to date, read under `config`, and swapped in if whole.
        The contacts routed on the way join `taken`, so that a turn that fails answers them."""
        began = time.monotonic()
        try:
            await self._drain(taken)
            engine, rebuilt = await self._read(config)
            refused = check_kept(rebuilt, self.engine.tasks)
            if refused is not None:
                del engine, rebuilt
                compact()  # what the refused engine made, before it is frozen with the rest
                _settle(done, refused)
                return
            old, self.config = self.config, config
            self.store.reconfigure(config)
            warn(rebuilt)
            self._jobs = [job for job in self._jobs if self._still_routed(job)]
            self._install(engine, rebuilt)
            # In force from here: if Redis fails under the first commit, the outage's rebuild
            # is under the new file too.
            _settle(done, Reloaded(config.source, len(engine.tasks), len(engine.roster),
                                   rebuilt.trimmed, restart_needed(old, config),
                                   round(time.monotonic() - began, 3)))  # fmt: skip
            await self._run(self._decided(rebuilt.decisions))
        except BaseException as err:
            # The caller gets the error without the loop's frames: they hold the engine half
            # read when Redis failed, for as long as the caller keeps the error.
            frames = err.__traceback__
            try:
                _settle(done, err.with_traceback(None))
            finally:
                err.with_traceback(frames)  # for the turn's failure, which logs a bug's frames
                del frames  # a local holding this frame's own traceback: a cycle
            raise

    async def _drain(self, taken: list[Job]) -> None:
        """Route the contacts on the wire (they join `taken`) and wait for every commit: then
        Redis holds all that the engine knows."""
        while self._intake:
            await asyncio.wait([self._intake[0].sent])
            step: list[Job] = []
            try:
                await self._step(step)
            finally:
                taken += step
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
                turn = self._reload(*self._reloads.popleft(), jobs)
            else:
                jobs, self._jobs = self._jobs[:MAX_BATCH], self._jobs[MAX_BATCH:]
                if not self._jobs:
                    self._wake.clear()
                turn = self._step(jobs)
            failed = await _failure(turn)
            if failed is not None:
                stranded = [*jobs, *await self._settle()]
                if failed.redis_down:
                    await self._outage(stranded, failed)
                else:
                    await self._resync(stranded)
            if self._broken is not None:
                stranded = await self._settle()
                broken, self._broken = self._broken, None
                await self._outage(stranded, broken)
            if self._diverged:
                await self._resync(await self._settle())
        await self._settle()
        for _, done in self._reloads:
            _settle(done, Unavailable("routerd is stopping"))

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
        failed = await self._rebuilt()
        if failed is not None:
            await self._outage([], failed)

    async def _sleep(self) -> None:
        deadline = self.engine.next_deadline()
        await self._wake.wait(None if deadline is None else deadline - self.clock())

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

    async def _outage(self, jobs: list[Job], failed: Failed) -> None:
        """Fail what was in flight, wait for Redis (or for a rebuild that works), then rebuild
        from it and go on."""
        self.ready = False
        reason = "redis_unreachable" if failed.redis_down else "rebuild_failed"
        log.error("routing_paused", reason=reason, error=failed.error)
        refusal = "redis is unreachable" if failed.redis_down else "routing state is rebuilding"
        for job in [*jobs, *self._jobs]:
            self._fail(job, Unavailable(refusal, RETRY_AFTER))
        self._jobs = []
        while self._reloads:
            _settle(self._reloads.popleft()[1], Unavailable(refusal, RETRY_AFTER))
        pause = RETRY_PAUSE
        while not self._stopping:
            again = await self._rebuilt(after_outage=True)
            if again is None:
                log.info("routing_resumed")
                return
            await asyncio.sleep(pause)
            if not again.redis_down:
                pause = min(2 * pause, MAX_RETRY_PAUSE)

    async def _rebuilt(self, *, after_outage: bool = False) -> Failed | None:
        """Rebuild the engine from Redis (after an outage, once Redis answers, the 503s made
        true first); what failed, if it did."""
        failed = await self._try_rebuild(after_outage)
        if failed is not None:
            compact()  # the try's engine, half read, or every try would leave one behind
        return failed

    async def _try_rebuild(self, after_outage: bool) -> Failed | None:
        try:
            if after_outage:
                await self.store.client.ping()
                await self._withdraw()
            await self._rebuild()
        except REDIS_DOWN as err:
            return Failed(str(err), redis_down=True)
        except Exception as err:  # a bug in the rebuild: routing pauses and tries again
            log.exception("routing_rebuild_failed", then="retry")
            return Failed(str(err), redis_down=False)
        return None


async def _failure(turn: Awaitable[None]) -> Failed | None:
    """Run a turn; what failed, if it did."""
    try:
        await turn
    except REDIS_DOWN as err:
        return Failed(str(err), redis_down=True)
    except Exception as err:  # the loop must outlive a bug in one turn
        log.exception("routing_turn_failed", then="rebuild_from_redis")
        return Failed(str(err), redis_down=False)
    return None


def _settle(done: asyncio.Future[Reloaded], outcome: Reloaded | BaseException) -> None:
    """Tell a reload's caller, unless it has gone (cancelled) or was told already."""
    if done.done():
        return
    if isinstance(outcome, BaseException):
        done.set_exception(outcome)
    else:
        done.set_result(outcome)

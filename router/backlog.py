"""Waiting tasks, grouped into buckets of interchangeable tasks whose heads the kernel ranks."""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from native import AgentIndex, TaskBoard
from router.config.model import RoutingConfig
from router.model import Task
from router.requirements import BucketKey, Requirement, bucket_key, requirement_of


@dataclass(slots=True)
class Bucket:
    """Tasks alike in queue, channel, priority, requirements and exclusions, oldest first."""

    id: int
    key: BucketKey
    req: Requirement
    queue: str
    priority: int
    excluded: frozenset[str]
    heap: list[tuple[int, str]] = field(default_factory=list)  # (queue position, task id)
    size: int = 0


class Backlog:
    """Every task waiting for an agent; the kernel's TaskBoard mirrors each bucket's head."""

    def __init__(self, config: RoutingConfig, agents: AgentIndex) -> None:
        self.config = config
        self.board = TaskBoard(agents)
        self._buckets: dict[BucketKey, Bucket] = {}
        self._by_id: dict[int, Bucket] = {}
        self._where: dict[str, Bucket] = {}
        self._tasks: dict[str, Task] = {}
        self._free_ids: list[int] = []

    def __len__(self) -> int:
        return len(self._where)

    def __contains__(self, task_id: object) -> bool:
        return task_id in self._where

    def bucket(self, bucket_id: int) -> Bucket:
        """The bucket behind a kernel bucket id."""
        return self._by_id[bucket_id]

    def push(self, task: Task) -> None:
        """Put the task in its bucket at its queue position."""
        bucket = self._bucket_for(task)
        heapq.heappush(bucket.heap, (task.seq, task.id))
        bucket.size += 1
        self._where[task.id] = bucket
        self._tasks[task.id] = task
        if bucket.heap[0][1] == task.id:
            self.board.set_head(bucket.id, task.arrived_at)

    def push_many(self, tasks: Iterable[Task]) -> None:
        """`push` each task; a restore hands over 100,000 at once, so each heap is built once."""
        touched: dict[int, Bucket] = {}
        # Tasks of one shape have equal unsorted keys too, which cost less than sorting.
        shapes: dict[tuple[object, ...], Bucket] = {}
        for task in tasks:
            shape = (task.queue, task.channel, task.priority, tuple(task.skills.items()),
                     task.groups, task.excluded)  # fmt: skip
            bucket = shapes.get(shape)
            if bucket is None:
                bucket = shapes[shape] = self._bucket_for(task)
            bucket.heap.append((task.seq, task.id))
            bucket.size += 1
            self._where[task.id] = bucket
            self._tasks[task.id] = task
            touched[bucket.id] = bucket
        for bucket in touched.values():
            heapq.heapify(bucket.heap)
            self.board.set_head(bucket.id, self._tasks[bucket.heap[0][1]].arrived_at)

    def remove(self, task: Task) -> None:
        """Take the task out (it was offered, escalated, abandoned or expired)."""
        bucket = self._where.pop(task.id)
        del self._tasks[task.id]
        bucket.size -= 1
        self._settle(bucket)

    def head(self, bucket: Bucket) -> Task:
        """The oldest task of a non-empty bucket."""
        return self._tasks[bucket.heap[0][1]]

    def first(self, bucket: Bucket, n: int) -> list[Task]:
        """Up to n tasks of the bucket, oldest first."""
        live = (t for pos, t in sorted(bucket.heap) if self._live(bucket, pos, t))
        return [self._tasks[t] for _, t in zip(range(n), dict.fromkeys(live), strict=False)]

    def buckets(self) -> Iterator[Bucket]:
        """The buckets that hold tasks."""
        return (b for b in self._by_id.values() if b.size)

    def tasks(self) -> Iterator[Task]:
        """Every waiting task."""
        return iter(self._tasks.values())

    def _bucket_for(self, task: Task) -> Bucket:
        key = bucket_key(task)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket_id = self._free_ids.pop() if self._free_ids else len(self._by_id)
            req = requirement_of(self.config, task)
            bucket = Bucket(bucket_id, key, req, task.queue, task.priority, task.excluded)
            self._buckets[key] = bucket
            self._by_id[bucket_id] = bucket
            target = self.config.queues[task.queue].service_level.within
            self.board.set_bucket(bucket_id, *req, task.priority, target)
        return bucket

    def _live(self, bucket: Bucket, pos: int, task_id: str) -> bool:
        """Whether a heap entry stands for a task in the bucket now. Entries are dropped
        lazily, and a task taken out can come back to the same bucket at another position (a
        transfer into its own queue): its old entry is then stale though the id is there."""
        return self._where.get(task_id) is bucket and self._tasks[task_id].seq == pos

    def _settle(self, bucket: Bucket) -> None:
        """Drop stale heap entries so the head is live, and tell the board."""
        heap = bucket.heap
        while heap and not self._live(bucket, *heap[0]):
            heapq.heappop(heap)
        if heap:
            self.board.set_head(bucket.id, self._tasks[heap[0][1]].arrived_at)
        elif bucket.excluded:
            # Buckets keyed by exclusions rarely recur; recycle their ids.
            self.board.clear_bucket(bucket.id)
            del self._buckets[bucket.key], self._by_id[bucket.id]
            self._free_ids.append(bucket.id)
        else:
            self.board.set_head(bucket.id, math.inf)

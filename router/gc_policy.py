"""Garbage collection for a long-running router: short pauses rather than whole-heap sweeps.

CPython's collections walk every tracked object of the generations they collect. Under load a
router's survivors are mostly long-lived (queued contacts, open offers, each agent socket's
waiting reader), so they pile up in the older generations, and each full collection (every half
second at 3,000 contacts/s) stopped routing for 15-60 ms: the tail of the ingest-to-offer
latency. After every collection the survivors are frozen (moved where no collection looks), so
each collection walks only what was made since the last one. Frozen objects are still freed by
reference counting; only garbage in reference cycles among them waits for the next compaction
(unfreeze, collect everything, freeze), which runs at most once per `compact_every` seconds.
The daemon makes almost no such garbage: under load, compactions every 3 s found none.

A young collection starts when allocations of tracked objects outrun their frees by a
threshold, whichever generation the freed objects were in. A router in a steady state frees
about as much as it makes, old objects included, so at CPython's 700 the count crossed the
threshold some 60 times a second in the lifecycle benchmark while the young list held every
object still alive since the last collection, and each collection walked and froze them:
640-710 collections and 0.30-0.42 s of collecting in a run of that phase. At
`young_threshold` = 10,000 it is crossed when the heap really grows (a backlog building) or by
cyclic garbage, which it bounds: 10-11 collections, 0.03-0.04 s.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

import structlog

log = structlog.get_logger("routerd.gc")

COMPACT_EVERY = 600.0
YOUNG_THRESHOLD = 10_000


class GcPolicy:
    """Freezes the survivors of each collection; compacts now and then."""

    def __init__(
        self,
        call_soon: Callable[[Callable[[], None]], object],
        compact_every: float = COMPACT_EVERY,
        clock: Callable[[], float] = time.monotonic,
        young_threshold: int = YOUNG_THRESHOLD,
    ) -> None:
        self.call_soon = call_soon
        self.compact_every = compact_every
        self.young_threshold = young_threshold
        self.clock = clock
        self.compacted_at = clock()
        self._pending = False
        self._saved: tuple[int, int, int] | None = None

    def install(self) -> None:
        """Act after every collection from now on."""
        gc.freeze()
        self._saved = gc.get_threshold()
        gc.set_threshold(self.young_threshold, *self._saved[1:])
        gc.callbacks.append(self._collected)

    def uninstall(self) -> None:
        """Stop acting, and let every collection look at everything again."""
        if self._collected in gc.callbacks:
            gc.callbacks.remove(self._collected)
        if self._saved is not None:
            gc.set_threshold(*self._saved)
            self._saved = None
        gc.unfreeze()

    def _collected(self, phase: str, info: dict[str, Any]) -> None:
        # Runs inside the collector, which must not be re-entered: act on the loop's next turn.
        if phase == "stop" and not self._pending:
            self._pending = True
            self.call_soon(self.settle)

    def settle(self) -> None:
        """Freeze what the last collection kept; compact instead when a compaction is due."""
        self._pending = False
        if self.clock() - self.compacted_at < self.compact_every:
            gc.freeze()
            return
        began = self.clock()
        found = compact()
        self.compacted_at = self.clock()
        log.info(
            "gc_compacted", collected=found, pause_ms=round(1000 * (self.compacted_at - began), 1)
        )


def compact() -> int:
    """Collect everything, frozen objects too, then freeze what is left; how many were freed.

    What is frozen is never looked at again, so garbage in reference cycles frozen with the
    survivors (an engine replaced, or half read) waits for this."""
    gc.unfreeze()
    found = gc.collect()
    gc.freeze()
    return found

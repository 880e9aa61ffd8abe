"""Twin forward/reverse auction: the exact assignment behind batch_match, equal to _auction.pxi."""

from __future__ import annotations

import heapq
from collections import deque

# A person (task) must take one object: an agent of its row or its own dummy, worth 0, that no
# one else can take. Objects may stay unassigned, so the dual asks every unassigned object's price
# to be 0: forward bids alone would leave objects at the prices of earlier epsilon phases, and
# reverse bids bring those back down. Unlike a square reduction, no mirror copies of agents and
# tasks bid, and those copies used to make most of the bids.
#
# Epsilon starts at the largest benefit / FIRST_DIV and shrinks by THETA per phase: a bigger start
# lets prices climb in fewer bids but leaves more objects priced and unassigned for the reverse
# bids. Both tuned on bench.kernel's batch_1000; exactness depends on neither.
THETA = 8
FIRST_DIV = 16384
# Look-back cache: each person keeps its CACHE best objects and a bound on the value of every
# other one. Forward bids only raise prices, so a bid whose best and second best in the cache are
# above the bound needs no scan of the row (about 100 objects at 1,000 agents). A bid that could
# be decided by an object out of the cache rebuilds it first, so the answer of every bid and every
# phase-start check is the one a scan of the whole row would give, whatever the cache holds: the
# compiled kernel caches differently and still bids the same. At least 2.
CACHE = 16
_NEG = -(2**62)
_STALE = 2**62  # the bound of a person that has no cache yet: its first bid builds one


def size_class(row_len: int) -> int:
    """Queue class of a person: unassigned persons with shorter rows bid first."""
    # Persons with few options settle the prices that the many-option ones then take as given;
    # served in plain arrival order, the latter are displaced and rebuild their caches far more.
    return row_len.bit_length()


class Auction:
    """Max-benefit assignment of every person to an object of its row, in integer benefits.

    rows[i]: (object, benefit) ascending by object, the person's dummy last. cols[j] for each
    object j < first_dummy: (person, benefit) ascending by person. Dummy first_dummy + i belongs
    to person i. Optimal when the benefits are scaled so that len(rows) * 1 is below one unit.
    """

    __slots__ = (
        "assigned",
        "bound",
        "cache",
        "classes",
        "cols",
        "first_dummy",
        "owner",
        "price",
        "profit",
        "rows",
    )

    def __init__(
        self, rows: list[list[tuple[int, int]]], cols: list[list[tuple[int, int]]], first_dummy: int
    ) -> None:
        n = len(rows)
        self.rows = rows
        self.cols = cols
        self.first_dummy = first_dummy
        self.price = [0] * (first_dummy + n)
        self.owner = [-1] * (first_dummy + n)
        self.profit = [0] * n
        self.assigned = [-1] * n
        self.cache: list[list[tuple[int, int]]] = [[] for _ in range(n)]
        self.bound = [_STALE] * n
        self.classes = [size_class(len(row)) for row in rows]

    def solve(self, max_benefit: int) -> list[int]:
        eps = max(1, max_benefit // FIRST_DIV)
        while True:
            self._forward(eps)
            self._reverse(eps)
            if eps == 1:
                return self.assigned
            eps = max(1, eps // THETA)

    def _forward(self, eps: int) -> None:
        """Bids until every person holds an object."""
        classes = self.classes
        queues: list[deque[int]] = [deque() for _ in range(max(classes) + 1)]
        for i in range(len(self.rows)):
            if not self._keeps(i, eps):
                queues[classes[i]].append(i)
        while True:
            queue = next((q for q in queues if q), None)
            if queue is None:
                return
            prev = self._bid(queue.popleft(), eps)
            if prev >= 0:
                queues[classes[prev]].append(prev)

    def _reverse(self, eps: int) -> None:
        """Reverse bids until every unassigned object is at price 0; no person is unassigned."""
        price, owner = self.price, self.owner
        freed = deque(j for j in range(len(price)) if owner[j] < 0 and price[j] > 0)
        while freed:
            k = self._reverse_bid(freed.popleft(), eps)
            if k >= 0 and price[k] > 0:
                freed.append(k)

    def _keeps(self, i: int, eps: int) -> bool:
        """Whether person i keeps its object into an eps phase (eps-complementary slackness)."""
        j = self.assigned[i]
        if j < 0:
            return False
        limit = self.profit[i] + eps
        other = self._other(i, j)
        if other <= limit < self.bound[i]:
            self._rebuild(i)  # undecided: an object out of the cache may be worth more
            other = self._other(i, j)
        if limit >= other:
            return True
        self.owner[j] = -1
        self.assigned[i] = -1
        return False

    def _other(self, i: int, j: int) -> int:
        """The best value in person i's cache but object j; exact for a fresh cache."""
        price = self.price
        return max((w - price[k] for k, w in self.cache[i] if k != j), default=_NEG)

    def _rebuild(self, i: int) -> None:
        row, price = self.rows[i], self.price
        vals = [w - price[j] for j, w in row]
        # Value descending, ties by row position: so the lowest object of a tied best is kept.
        top = heapq.nlargest(CACHE + 1, range(len(row)), key=vals.__getitem__)
        self.cache[i] = [row[p] for p in top[:CACHE]]
        self.bound[i] = vals[top[CACHE]] if len(top) > CACHE else _NEG

    def _best(self, i: int) -> tuple[int, int, int]:
        """Best object (the lowest of a tie), best and second-best value in the cache."""
        price = self.price
        j1, v1, v2 = -1, _NEG, _NEG
        for j, w in self.cache[i]:
            v = w - price[j]
            if v > v1 or (v == v1 and j < j1):
                j1, v1, v2 = j, v, v1
            elif v > v2:
                v2 = v
        return j1, v1, v2

    def _bid(self, i: int, eps: int) -> int:
        """Person i takes its best object; returns the person it displaced, or -1."""
        j1, v1, v2 = self._best(i)
        if v2 < self.bound[i] or v1 == self.bound[i]:
            self._rebuild(i)  # an object out of the cache may be second, or tie the best
            j1, v1, v2 = self._best(i)
        self.price[j1] += v1 - v2 + eps
        self.profit[i] = v2 - eps
        prev = self.owner[j1]
        self.owner[j1] = i
        self.assigned[i] = j1
        if prev >= 0:
            self.assigned[prev] = -1
        return prev

    def _reverse_bid(self, j: int, eps: int) -> int:
        """Unassigned object j, priced above 0, lowers its price and may take a person from
        another object; returns that object, now unassigned, or -1."""
        col = self.cols[j] if j < self.first_dummy else [(j - self.first_dummy, 0)]
        profit = self.profit
        bi, bw, b, w2 = -1, 0, _NEG, _NEG
        for i, w in col:
            v = w - profit[i]
            if v > b:
                bi, bw, b, w2 = i, w, v, b
            elif v > w2:
                w2 = v
        new = 0 if b <= eps else max(0, w2 - eps)
        self.price[j] = new
        self._lower_bounds(col, new)
        if b <= eps:
            return -1
        profit[bi] = bw - new
        k = self.assigned[bi]
        self.owner[k] = -1
        self.owner[j] = bi
        self.assigned[bi] = j
        return k

    def _lower_bounds(self, col: list[tuple[int, int]], price: int) -> None:
        # A price went down: the persons that may not hold it in their cache widen their bound,
        # so that the cache stays exact. A cache of the whole row needs no bound.
        bound, rows, cache = self.bound, self.rows, self.cache
        for i, w in col:
            if w - price > bound[i] and len(cache[i]) < len(rows[i]):
                bound[i] = w - price

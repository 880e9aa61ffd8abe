# Forward/reverse auction: included by _batch.pxi. Same bids, queue order and ties as
# native/auction_py.py, which says why it works and why these values. The look-back caches are
# this kernel's own; whenever one could decide a bid differently from a scan of the whole row or
# column it is rebuilt first, so every bid equals the twin's.

cdef int64_t THETA = 8
cdef int64_t FIRST_DIV = 16384
# Entries in a person's cache: bids read a few of them, a rebuild scans the whole row. 8 was the
# fastest on bench.kernel's batch_1000, by about 5% over 16. At least 2.
cdef enum:
    CACHE = 8
cdef int64_t NEG = -4611686018427387904  # -(2**62): below any value a bid can see
cdef int64_t STALE = 4611686018427387904  # the bound of a person with no cache yet
# A cached object's price while its person's row is scanned: every value it gives is below NEG.
cdef int64_t HIDDEN = 6917529027641081856  # 2**62 + 2**61


cdef struct Pair:
    int32_t obj  # the agent: its slot, then its number in the auction (a person, in a column)
    uint32_t ben  # unscaled benefit


cdef struct Auction:
    # Objects: the eligible agents renumbered 0..n_obj - n - 1 in slot order, then person i's
    # dummy first_dummy + i, worth 0. Benefits are stored unscaled and multiplied by scale.
    Py_ssize_t n, n_obj, first_dummy
    int64_t scale
    # Person i's agents: rstart[i]..rstart[i + 1] in row, ascending, then its dummy.
    const Py_ssize_t* rstart
    const Pair* row
    # Agent j's persons: cstart[j]..cstart[j + 1] in col, ascending, with the benefits, once
    # columns_ready (_columns.pxi); m agents.
    const Py_ssize_t* cstart
    const Pair* col
    Py_ssize_t m
    Job columns  # filling them
    int64_t* price  # n_obj
    int64_t* owner  # n_obj
    int64_t* profit  # n
    int64_t* assigned  # n
    # Each person's cache, CACHE slots: objects and scaled benefits, in the order of their
    # values when it was last rebuilt. bound is at least the value of every object not cached.
    int32_t* co
    int64_t* cw
    int64_t* clen  # n
    int64_t* bound  # n
    int64_t* cls  # n: queue class, native.auction_py.size_class
    int64_t* nxt  # n: links of the forward queues
    int64_t* ring  # n_obj: reverse FIFO
    # Reverse side (_reverse.pxi): each agent's cache of its RCACHE best persons, valid in the
    # reverse stage it was built in, and the objects whose price went down in this stage.
    int32_t* rp
    int64_t* rb
    int64_t* rlen
    int64_t* rbound
    int64_t* repoch
    int64_t epoch
    int64_t* dropped
    int64_t ndropped
    int64_t* dropmark


cdef inline bint beats(int64_t v, int64_t j, int64_t v2, int64_t j2) noexcept nogil:
    return v > v2 or (v == v2 and j < j2)


cdef inline void cache_insert(int64_t* cv, int32_t* co, int64_t* cw, Py_ssize_t* n, int64_t* t,
                              int64_t v, int64_t j, int64_t w) noexcept nogil:
    # Into the sorted cache; when full, the last entry leaves and its value joins the bound.
    cdef Py_ssize_t p
    if n[0] == CACHE:
        t[0] = max(t[0], cv[CACHE - 1])
        n[0] -= 1
    p = n[0]
    while p > 0 and beats(v, j, cv[p - 1], co[p - 1]):
        cv[p] = cv[p - 1]
        co[p] = co[p - 1]
        cw[p] = cw[p - 1]
        p -= 1
    cv[p] = v
    co[p] = <int32_t>j
    cw[p] = w
    n[0] += 1


cdef void sort_cache(int64_t* cv, int32_t* co, int64_t* cw, Py_ssize_t n) noexcept nogil:
    # Insertion sort, value descending then object.
    cdef Py_ssize_t k, p
    cdef int64_t v, w
    cdef int32_t j
    for k in range(1, n):
        v, j, w = cv[k], co[k], cw[k]
        p = k
        while p > 0 and beats(v, j, cv[p - 1], co[p - 1]):
            cv[p] = cv[p - 1]
            co[p] = co[p - 1]
            cw[p] = cw[p - 1]
            p -= 1
        cv[p], co[p], cw[p] = v, j, w


cdef void refresh(const Auction* s, Py_ssize_t i, int64_t* cv) noexcept nogil:
    # cv: the current values of person i's cache, which is sorted by them, value descending.
    cdef int32_t* co = s.co + i * CACHE
    cdef int64_t* cw = s.cw + i * CACHE
    cdef Py_ssize_t k, n = s.clen[i]
    for k in range(n):
        cv[k] = cw[k] - s.price[co[k]]
    sort_cache(cv, co, cw, n)


cdef void rebuild(Auction* s, Py_ssize_t i) noexcept nogil:
    # The CACHE best objects of person i's row, and the best value left out as its bound. The
    # old entries stay, at their current values: most of them are still among the best. While
    # the row is scanned their prices are set out of reach (HIDDEN), so that the scan does not
    # stop at them; they are put back before anything else reads a price.
    cdef int32_t* co = s.co + i * CACHE
    cdef int64_t* cw = s.cw + i * CACHE
    cdef int64_t* price = s.price
    cdef int64_t cv[CACHE]  # the entries' values, kept descending while the row is scanned
    cdef int64_t old_price[CACHE]
    cdef int32_t old_obj[CACHE]
    cdef Py_ssize_t n, k, m
    cdef int64_t t = NEG, v, j = s.first_dummy + i
    cdef bint has_dummy = False
    refresh(s, i, cv)
    n = m = s.clen[i]
    for k in range(m):
        has_dummy |= co[k] == j
        old_obj[k] = co[k]
        old_price[k] = price[co[k]]
        price[co[k]] = HIDDEN
    scan_row(s, s.rstart[i], s.rstart[i + 1], cv, co, cw, &n, &t)
    for k in range(m):
        price[old_obj[k]] = old_price[k]
    if not has_dummy:
        v = -price[j]
        if n == CACHE and not beats(v, j, cv[CACHE - 1], co[CACHE - 1]):
            t = max(t, v)
        else:
            cache_insert(cv, co, cw, &n, &t, v, j, 0)
    s.clen[i] = n
    s.bound[i] = t


cdef void scan_row(const Auction* s, Py_ssize_t e, Py_ssize_t end, int64_t* cv, int32_t* co,
                   int64_t* cw, Py_ssize_t* n, int64_t* t) noexcept nogil:
    # Inserts the entries of row[e:end] that enter the cache; the others' values join t.
    cdef int64_t w, j
    while True:
        if n[0] == CACHE:
            e = skip_row(s, e, end, cv[CACHE - 1], co[CACHE - 1], t)
        if e == end:
            return
        j = s.row[e].obj
        w = <int64_t>s.row[e].ben * s.scale
        if w - s.price[j] > NEG:  # not a hidden one: only a full cache has any, so far
            cache_insert(cv, co, cw, n, t, w - s.price[j], j, w)
        e += 1


cdef Py_ssize_t skip_row(const Auction* s, Py_ssize_t e, Py_ssize_t end, int64_t lv, int64_t lj,
                         int64_t* t) noexcept nogil:
    # The first entry from e on that beats (lv, lj), or end; the others' values join t. Most of
    # a rebuild is here: kept apart so that the loop lives in registers.
    cdef const Pair* row = s.row
    cdef const int64_t* price = s.price
    cdef int64_t scale = s.scale, v, best_out = t[0]
    while e < end:
        v = <int64_t>row[e].ben * scale - price[row[e].obj]
        if v > lv or (v == lv and row[e].obj < lj):
            break
        best_out = max(best_out, v)
        e += 1
    t[0] = best_out
    return e


cdef int64_t best(Auction* s, Py_ssize_t i, int64_t* v1, int64_t* v2) noexcept nogil:
    # Best object (the lowest of a tie), best and second-best value in the cache. Every entry
    # is read, without a branch on its value: early exits mispredict more often than they save.
    cdef const int32_t* co = s.co + i * CACHE
    cdef const int64_t* cw = s.cw + i * CACHE
    cdef const int64_t* price = s.price
    cdef Py_ssize_t n = s.clen[i], k
    cdef int64_t j1 = -1, b1 = NEG, b2 = NEG, v, j
    cdef bint up
    for k in range(n):
        j = co[k]
        v = cw[k] - price[j]
        up = (v > b1) | ((v == b1) & (j < j1))
        b2 = b1 if up else (v if v > b2 else b2)
        b1 = v if up else b1
        j1 = j if up else j1
    v1[0] = b1
    v2[0] = b2
    return j1


cdef int64_t bid(Auction* s, Py_ssize_t i, int64_t eps) noexcept nogil:
    # Person i takes its best object; returns the person it displaced, or -1.
    cdef int64_t v1, v2, j1, prev
    j1 = best(s, i, &v1, &v2)
    if v2 < s.bound[i] or v1 == s.bound[i]:
        rebuild(s, i)  # an object out of the cache may be second, or tie the best
        j1 = best(s, i, &v1, &v2)
    s.price[j1] += v1 - v2 + eps
    s.profit[i] = v2 - eps
    prev = s.owner[j1]
    s.owner[j1] = i
    s.assigned[i] = j1
    if prev >= 0:
        s.assigned[prev] = -1
    return prev


cdef int64_t other(const Auction* s, Py_ssize_t i, int64_t j) noexcept nogil:
    # The best value in person i's cache but object j; exact for a fresh cache.
    cdef const int32_t* co = s.co + i * CACHE
    cdef const int64_t* cw = s.cw + i * CACHE
    cdef int64_t o = NEG
    cdef Py_ssize_t k
    for k in range(s.clen[i]):
        if co[k] != j:
            o = max(o, cw[k] - s.price[co[k]])
    return o


cdef bint keeps(Auction* s, Py_ssize_t i, int64_t eps) noexcept nogil:
    # Whether person i keeps its object into an eps phase (eps-complementary slackness).
    cdef int64_t j = s.assigned[i], limit, o
    if j < 0:
        return False
    limit = s.profit[i] + eps
    o = other(s, i, j)
    if o <= limit < s.bound[i]:
        rebuild(s, i)  # undecided: an object out of the cache may be worth more
        o = other(s, i, j)
    if limit >= o:
        return True
    s.owner[j] = -1
    s.assigned[i] = -1
    return False


cdef void forward(Auction* s, int64_t eps) noexcept nogil:
    # One FIFO per queue class, the lowest class first (native.auction_py.size_class).
    cdef int64_t head[64]
    cdef int64_t tail[64]
    cdef uint64_t live = 0
    cdef Py_ssize_t i
    cdef int64_t c, k
    for i in range(s.n):
        if not keeps(s, i, eps):
            push_person(s, head, tail, &live, i)
    while live:
        c = rd_ctz64(live)
        i = head[c]
        head[c] = s.nxt[i]
        if head[c] < 0:
            live &= ~((<uint64_t>1) << c)
        else:  # the likely next bidder: its cache is far in memory
            rd_prefetch(s.cw + head[c] * CACHE)
            rd_prefetch(s.co + head[c] * CACHE)
        k = bid(s, i, eps)
        if k >= 0:
            push_person(s, head, tail, &live, k)


cdef inline void push_person(Auction* s, int64_t* head, int64_t* tail, uint64_t* live,
                             int64_t i) noexcept nogil:
    cdef int64_t c = s.cls[i]
    s.nxt[i] = -1
    if (live[0] >> c) & 1:
        s.nxt[tail[c]] = i
    else:
        head[c] = i
        live[0] |= (<uint64_t>1) << c
    tail[c] = i


cdef void run_auction(Auction* s, int64_t max_benefit) noexcept nogil:
    cdef int64_t eps = max(1, max_benefit // FIRST_DIV)
    while True:
        forward(s, eps)
        reverse(s, eps)
        if eps == 1:
            return
        eps = max(1, eps // THETA)


include "_reverse.pxi"

# Reverse bids of the auction: included by _auction.pxi. Same bids and ties as the twin's
# Auction._reverse_bid, which scans the agent's whole column each time. Here each agent keeps
# its RCACHE best persons: in a reverse stage profits only go up, so values only go down and a
# bound on the persons left out stays valid until the stage ends.

# At least 2; 4 was the fastest on bench.kernel's batch_1000, by a few percent.
cdef enum:
    RCACHE = 4


cdef void reverse(Auction* s, int64_t eps) noexcept nogil:
    # Reverse bids until every unassigned object is back at price 0; an object is queued once.
    cdef int64_t* q = s.ring
    cdef Py_ssize_t j, head = 0, count = 0, cap = s.n_obj
    cdef int64_t k
    columns_ready(s)
    s.epoch += 1
    s.ndropped = 0
    for j in range(s.n_obj):
        if s.owner[j] < 0 and s.price[j] > 0:
            q[count] = j
            count += 1
    while count:
        k = reverse_bid(s, q[head], eps)
        head = head + 1 if head + 1 < cap else 0
        count -= 1
        if k >= 0 and s.price[k] > 0:
            q[(head + count) % cap] = k
            count += 1
    for j in range(s.ndropped):
        lower_bounds(s, s.dropped[j])


cdef int64_t reverse_bid(Auction* s, int64_t j, int64_t eps) noexcept nogil:
    # Unassigned object j, priced above 0, lowers its price and may take a person from another
    # object; returns that object, now unassigned, or -1.
    cdef int64_t bi, bw, b, w2, new, k
    if j < s.first_dummy:
        if s.repoch[j] != s.epoch:
            rrebuild(s, j)
        rbest(s, j, &bi, &bw, &b, &w2)
        if w2 < s.rbound[j] or b == s.rbound[j]:
            rrebuild(s, j)  # a person out of the cache may be second, or tie the best
            rbest(s, j, &bi, &bw, &b, &w2)
    else:
        bi, bw, b, w2 = j - s.first_dummy, 0, -s.profit[j - s.first_dummy], NEG
    new = 0 if b <= eps else max(0, w2 - eps)
    s.price[j] = new
    if s.dropmark[j] != s.epoch:
        s.dropmark[j] = s.epoch
        s.dropped[s.ndropped] = j
        s.ndropped += 1
    if b <= eps:
        return -1
    s.profit[bi] = bw - new
    k = s.assigned[bi]
    s.owner[k] = -1
    s.owner[j] = bi
    s.assigned[bi] = j
    return k


cdef void rrebuild(Auction* s, int64_t j) noexcept nogil:
    # Agent j's RCACHE best persons by value, ties to the lower person (they come ascending).
    cdef int64_t vals[RCACHE]
    cdef int32_t* rp = s.rp + j * RCACHE
    cdef int64_t* rb = s.rb + j * RCACHE
    cdef const Pair* col = s.col + s.cstart[j]
    cdef Py_ssize_t c, nc = s.cstart[j + 1] - s.cstart[j], n = 0, p
    cdef int64_t t = NEG, v, w
    for c in range(nc):
        w = <int64_t>col[c].ben * s.scale
        v = w - s.profit[col[c].obj]
        if n == RCACHE:
            if v <= vals[RCACHE - 1]:
                t = max(t, v)
                continue
            t = max(t, vals[RCACHE - 1])
            n -= 1
        p = n
        while p > 0 and vals[p - 1] < v:
            vals[p] = vals[p - 1]
            rp[p] = rp[p - 1]
            rb[p] = rb[p - 1]
            p -= 1
        vals[p] = v
        rp[p] = col[c].obj
        rb[p] = w
        n += 1
    s.rlen[j] = n
    s.rbound[j] = t
    s.repoch[j] = s.epoch


cdef inline void rbest(const Auction* s, int64_t j, int64_t* bi, int64_t* bw, int64_t* b1,
                       int64_t* b2) noexcept nogil:
    # Best person (the lowest of a tie), its benefit, best and second-best value in the cache.
    cdef const int32_t* rp = s.rp + j * RCACHE
    cdef const int64_t* rb = s.rb + j * RCACHE
    cdef Py_ssize_t c
    cdef int64_t v, i, best_i = -1, best_w = 0, v1 = NEG, v2 = NEG
    for c in range(s.rlen[j]):
        i = rp[c]
        v = rb[c] - s.profit[i]
        if v > v1 or (v == v1 and i < best_i):
            v2 = v1
            v1 = v
            best_i = i
            best_w = rb[c]
        elif v > v2:
            v2 = v
    bi[0], bw[0], b1[0], b2[0] = best_i, best_w, v1, v2


cdef void lower_bounds(Auction* s, int64_t j) noexcept nogil:
    # Object j's price went down in the stage: its persons' bounds must cover it where it is
    # not cached.
    cdef int64_t price = s.price[j], w
    cdef Py_ssize_t c, i
    if j >= s.first_dummy:
        lower_bound(s, j - s.first_dummy, -price)
        return
    for c in range(s.cstart[j], s.cstart[j + 1]):
        lower_bound(s, s.col[c].obj, <int64_t>s.col[c].ben * s.scale - price)


cdef inline void lower_bound(Auction* s, Py_ssize_t i, int64_t v) noexcept nogil:
    if v > s.bound[i] and s.clen[i] < s.rstart[i + 1] - s.rstart[i] + 1:
        s.bound[i] = v

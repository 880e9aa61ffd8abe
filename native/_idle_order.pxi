# Rank's walk in idle order: included by _kernel.pyx, after _agents.pxi. The twin scans every
# candidate; this finds the same top k without scoring them all when most agents are eligible.
#
# Every ready agent sits in the bucket of its load part and level total, in a list ordered by
# idle_since. Within a bucket all agents share the load term and the bound on the fit term, and
# the idle term only falls along the list, so once that bound plus an agent's idle term is below
# the k-th best score, neither it nor anyone after it in the bucket can enter the top k.
#
# An agent usually joins its list at the tail (it has just become idle). One that would go
# further in than LINK_REACH places joins its bucket's loose list instead, which the walk scores
# in full, so no change costs more than LINK_REACH steps (an index filled with arbitrary idle
# times would cost quadratic time otherwise). A walk that meets MERGE_AT or more loose agents in
# a bucket sorts them into its ordered list first.

# Candidates from which rank walks: at least WALK_MIN, and at least a quarter of the ready
# agents (the walk passes over the ready agents that are not candidates).
cdef enum:
    WALK_MIN = 32
    WALK_SHARE = 4
    LINK_REACH = 32
    MERGE_AT = 64


cdef int relink(AgentIndex ag, Py_ssize_t a) except -1:
    # Puts agent a where its bucket and idle_since say, or nowhere if it is not ready. An agent
    # already in place stays (a heartbeat changes only its lease): moved, it would join from
    # the tail and, far from it, land in the loose list.
    cdef bint ready = ag.present[a] and ag.ready_mask[a] != 0
    if ready and in_place(ag, a):
        return 0
    unlink(ag, a)
    if ready:
        link(ag, a, bucket_for(ag, ag.hot[a, H_LOAD], ag.hot[a, H_TOTAL]))
    return 0


cdef bint in_place(AgentIndex ag, Py_ssize_t a) noexcept:
    # Whether a is in the ordered list of the bucket of its load and total, in order.
    cdef int64_t b = ag.bucket_of[a], p = ag.prv[a], n = ag.nxt[a]
    cdef double since = ag.hot[a, H_IDLE]
    if b < 0 or ag.bload[b] != ag.hot[a, H_LOAD] or ag.btotal[b] != ag.hot[a, H_TOTAL]:
        return False
    return (p < 0 or ag.hot[p, H_IDLE] <= since) and (n < 0 or ag.hot[n, H_IDLE] >= since)


cdef int64_t bucket_for(AgentIndex ag, double load, double total) except -1:
    cdef int64_t b
    key = (load, total)
    got = ag.bucket_ids.get(key)
    if got is not None:
        return got
    b = ag.nbuckets
    if b == ag.bhead.shape[0]:
        ag.bhead = _grown(ag.bhead, 2 * b, np.int64, -1)
        ag.btail = _grown(ag.btail, 2 * b, np.int64, -1)
        ag.bloose = _grown(ag.bloose, 2 * b, np.int64, -1)
        ag.nloose = _grown(ag.nloose, 2 * b, np.int64)
        ag.bload = _grown(ag.bload, 2 * b, np.float64)
        ag.btotal = _grown(ag.btotal, 2 * b, np.float64)
        ag.bhave = _grown(ag.bhave, (2 * b, ag.width, MAX_LEVEL), np.int32)
    ag.bload[b], ag.btotal[b] = load, total
    ag.bhead[b] = ag.btail[b] = ag.bloose[b] = -1
    ag.nloose[b] = 0
    ag.bucket_ids[key] = b
    ag.nbuckets = b + 1
    return b


cdef void tally(AgentIndex ag, Py_ssize_t a, int64_t b, int32_t d) noexcept:
    # Adds d to bucket b's count of agents at each level a holds; an agent has few skills.
    cdef int32_t* have = &ag.bhave[b, 0, 0]
    cdef const uint8_t* row = &ag.levels[a, 0]
    cdef const uint64_t* held = &ag.held[a, 0]
    cdef uint64_t x
    cdef int w, s
    for w in range(ag.hwords):
        x = held[w]
        while x:
            s = (w << 6) + rd_ctz64(x)
            have[s * MAX_LEVEL + row[s] - 1] += d
            x &= x - 1


cdef void unlink(AgentIndex ag, Py_ssize_t a) noexcept:
    # bucket_of: b for bucket b's ordered list, -2 - b for its loose list, -1 for none.
    cdef int64_t b = ag.bucket_of[a], p = ag.prv[a], n = ag.nxt[a]
    if b == -1:
        return
    tally(ag, a, b if b >= 0 else -2 - b, -1)
    if p >= 0:
        ag.nxt[p] = n
    elif b >= 0:
        ag.bhead[b] = n
    else:
        ag.bloose[-2 - b] = n
    if n >= 0:
        ag.prv[n] = p
    elif b >= 0:
        ag.btail[b] = p
    if b < 0:
        ag.nloose[-2 - b] -= 1
    ag.bucket_of[a] = ag.prv[a] = ag.nxt[a] = -1
    ag.nlinked -= 1


cdef void link(AgentIndex ag, Py_ssize_t a, int64_t b) noexcept:
    # After the last agent idle since no later than a, looking back at most LINK_REACH places
    # from the tail; past that, at the head of the loose list.
    cdef double since = ag.hot[a, H_IDLE]
    cdef int64_t p = ag.btail[b], n
    cdef int reach = 0
    tally(ag, a, b, 1)
    while p >= 0 and ag.hot[p, H_IDLE] > since:
        reach += 1
        if reach > LINK_REACH:
            n = ag.bloose[b]
            ag.prv[a], ag.nxt[a], ag.bucket_of[a] = -1, n, -2 - b
            if n >= 0:
                ag.prv[n] = a
            ag.bloose[b] = a
            ag.nloose[b] += 1
            ag.nlinked += 1
            return
        p = ag.prv[p]
    n = ag.bhead[b] if p < 0 else ag.nxt[p]
    ag.prv[a], ag.nxt[a], ag.bucket_of[a] = p, n, b
    if p >= 0:
        ag.nxt[p] = a
    else:
        ag.bhead[b] = a
    if n >= 0:
        ag.prv[n] = a
    else:
        ag.btail[b] = a
    ag.nlinked += 1


cdef inline bint walks(AgentIndex ag, Py_ssize_t n) noexcept:
    # Whether rank should walk rather than score its n candidates.
    return n >= WALK_MIN and WALK_SHARE * n >= ag.nlinked


cdef void walk(AgentIndex ag, TopK* top, const Terms* req, const Terms* pref, uint64_t groups,
               double now) noexcept:
    # The candidates are the set bits of ag.acc (mask). Scores are computed exactly as in
    # AgentIndex._score_into, so the top k is the same, ties included.
    cdef const uint64_t* pb[MAX_TERMS * MAX_LEVEL]
    cdef const uint64_t* acc = &ag.acc[0]
    cdef const uint64_t* agroups = &ag.groups[0]
    cdef const double* hot = &ag.hot[0, 0]
    cdef const int64_t* nxt = &ag.nxt[0]
    cdef const double* h
    cdef double wf = ag.w_fit, wl = ag.w_load, wi = ag.w_idle, hl = ag.half_life
    cdef double bound, idle, score
    cdef int64_t need, a
    cdef Py_ssize_t b, w
    cdef int j, lv, npb = 0, bit, loose
    for j in range(pref.n):
        for lv in range(pref.level[j]):
            pb[npb] = &ag.skill_bits[pref.skill[j], lv, 0]
            npb += 1
    for b in range(ag.nbuckets):
        if ag.nloose[b] >= MERGE_AT:
            merge(ag, b)
        # Rounding is monotonic: need <= most, so this bounds every fit term of the bucket.
        bound = wf * fit_ratio(most_need(ag, b, req, pref), ag.btotal[b]) + wl * ag.bload[b]
        for loose in range(2):
            a = ag.bloose[b] if loose else ag.bhead[b]
            while a >= 0:
                h = &hot[a * H_COLS]
                idle = wi * idle_of(h[H_IDLE], now, hl)
                if top.n == top.k and bound + idle < top.h[0].score:
                    if not loose:
                        break  # everyone after a in the ordered list is idle no longer
                    a = nxt[a]
                    continue
                w = a >> 6
                bit = a & 63
                if ((acc[w] >> bit) & 1 and h[H_LEASE] >= now
                        and (groups == 0 or (agroups[a] & groups) != 0)):
                    need = req.base
                    for j in range(npb):
                        need += (pb[j][w] >> bit) & 1
                    score = wf * fit_ratio(need, h[H_TOTAL]) + wl * h[H_LOAD] + idle
                    topk_push(top, score, 0.0, a)
                a = nxt[a]


cdef int64_t most_need(AgentIndex ag, Py_ssize_t b, const Terms* req,
                       const Terms* pref) noexcept:
    # The highest `need` any agent of bucket b can reach: each preferred skill counts only up
    # to the highest level that some agent of the bucket holds.
    cdef const int32_t* have
    cdef int64_t most = req.base
    cdef int j, lv
    for j in range(pref.n):
        have = &ag.bhave[b, pref.skill[j], 0]
        lv = MAX_LEVEL
        while lv > 0 and have[lv - 1] == 0:
            lv -= 1
        most += min(lv, pref.level[j])
    return most


cdef struct Since:
    double since
    int64_t slot


cdef int cmp_since(const void* x, const void* y) noexcept nogil:
    cdef const Since* p = <const Since*>x
    cdef const Since* q = <const Since*>y
    if p.since != q.since:
        return -1 if p.since < q.since else 1
    return (p.slot > q.slot) - (p.slot < q.slot)


cdef void merge(AgentIndex ag, Py_ssize_t b) noexcept:
    # Bucket b's ordered and loose lists as one ordered list; left as they are without memory.
    cdef Py_ssize_t m = 0, i
    cdef int64_t a
    cdef Since* all
    a = ag.bhead[b]
    while a >= 0:
        m += 1
        a = ag.nxt[a]
    m += ag.nloose[b]
    all = <Since*>malloc(m * sizeof(Since))
    if all == NULL:
        return
    m = gather(ag, ag.bloose[b], all, gather(ag, ag.bhead[b], all, 0))
    qsort(all, m, sizeof(Since), cmp_since)
    for i in range(m):
        a = all[i].slot
        ag.prv[a] = all[i - 1].slot if i > 0 else -1
        ag.nxt[a] = all[i + 1].slot if i + 1 < m else -1
        ag.bucket_of[a] = b
    ag.bhead[b] = all[0].slot
    ag.btail[b] = all[m - 1].slot
    ag.bloose[b] = -1
    ag.nloose[b] = 0
    free(all)


cdef Py_ssize_t gather(AgentIndex ag, int64_t a, Since* out, Py_ssize_t m) noexcept:
    # The list from a into out from m on; returns the new end.
    while a >= 0:
        out[m].since = ag.hot[a, H_IDLE]
        out[m].slot = a
        m += 1
        a = ag.nxt[a]
    return m

# batch_match: included by _kernel.pyx. Same pair benefits and auction as native/batch_py.py.

from libc.stdint cimport uint32_t

cdef int64_t MAX_BENEFIT = 2147483648

include "_thread.pxi"
include "_auction.pxi"
include "_columns.pxi"


cdef struct Edges:
    # Every eligible (task, agent) pair, task by task, agents ascending, kept in store.
    Pair* pair
    Py_ssize_t n
    Py_ssize_t cap
    int64_t max_ben
    int64_t max_obj
    Buffer* store


cdef void edges_open(Edges* e, Buffer* store) noexcept:
    e.store = store
    e.pair = <Pair*>store.p
    e.cap = store.size // sizeof(Pair)
    e.n = e.max_ben = 0
    e.max_obj = -1


cdef bint reserve(Edges* e, Py_ssize_t more) noexcept nogil:
    # Room for more pairs; False if there is no memory for it.
    cdef Py_ssize_t cap = e.cap if e.cap else 4096
    cdef char* p
    if e.n + more <= e.cap:
        return True
    while cap < e.n + more:
        cap *= 2
    p = grab(e.store, cap * sizeof(Pair), True)
    if p == NULL:
        return False
    e.pair = <Pair*>p
    e.cap = cap
    return True


cdef struct Scoring:
    # What pair scores read: the index's arrays and weights, and per agent the terms that do not
    # depend on the task, computed once per batch (done[a] says whether they are there yet),
    # in terms: size values of load, then of idle, then of done.
    const uint8_t* levels
    Py_ssize_t width
    const double* hot
    double w_fit, w_load, w_idle, half_life, now
    uint8_t* done
    double* load
    double* idle
    Py_ssize_t size
    Buffer* terms


cdef int track(AgentIndex ag, Scoring* sc) except -1:
    # Points sc at the index's arrays, which move when it grows (a task's sequences may run
    # Python code that adds agents), and makes room for the terms of new slots, not done yet.
    cdef Py_ssize_t old = sc.size, new = ag.size
    cdef char* p
    sc.levels, sc.width, sc.hot = &ag.levels[0, 0], ag.width, &ag.hot[0, 0]
    if new == old:
        return 0
    p = take(sc.terms, new * (2 * sizeof(double) + 1), True)
    memmove(p + 2 * sizeof(double) * new, p + 2 * sizeof(double) * old, old)  # the last first
    memset(p + 2 * sizeof(double) * new + old, 0, new - old)
    memmove(p + sizeof(double) * new, p + sizeof(double) * old, sizeof(double) * old)
    sc.load = <double*>p
    sc.idle = sc.load + new
    sc.done = <uint8_t*>(sc.idle + new)
    sc.size = new
    return 0


cdef bint score_pairs(Scoring* sc, const int64_t* cand, Py_ssize_t n, const Terms* pref,
                      int64_t base, double w_prio, double w_sla, Edges* out) noexcept nogil:
    # Appends the task's pairs to out; True if a benefit is out of range.
    cdef Py_ssize_t i, k = out.n
    cdef int64_t a, b
    cdef double score, x
    cdef const double* h
    for i in range(n):
        a = cand[i]
        h = sc.hot + a * H_COLS
        if not sc.done[a]:
            sc.load[a] = sc.w_load * h[H_LOAD]
            sc.idle[a] = sc.w_idle * idle_of(h[H_IDLE], sc.now, sc.half_life)
            sc.done[a] = 1
        score = (sc.w_fit * fit_of(sc.levels + a * sc.width, h[H_TOTAL], base, pref.skill,
                                   pref.level, pref.n)
                 + sc.load[a] + sc.idle[a] + w_prio + w_sla)
        x = (score + 1.0) * 10000.0 + 0.5
        if not (x >= 1.0 and x < <double>MAX_BENEFIT + 1.0):
            return True
        b = <int64_t>x
        out.pair[k + i].obj = <int32_t>a
        out.pair[k + i].ben = <uint32_t>b
        out.max_ben = max(out.max_ben, b)
        out.max_obj = max(out.max_obj, a)
    out.n += n
    return False


include "_pairs.pxi"


def batch_match(AgentIndex agents not None, tasks, double now):
    cdef Py_ssize_t nt = len(tasks)
    cdef Edges edges
    cdef Buffers private
    cdef Buffers* bufs
    check_now(now)
    result = [-1] * nt
    off = np.zeros(nt + 1, np.int64)
    cdef int64_t[::1] offv = off
    bufs = agents.scratch.open(&private)
    try:
        edges_open(&edges, &bufs.pair)
        all_pairs(agents, tasks, now, bufs, &edges, &offv[0])
        if edges.n:
            solve(nt, &offv[0], &edges, &bufs.block, result)
    finally:
        agents.scratch.close(bufs)
    return result


cdef int solve(Py_ssize_t nt, const int64_t* off, Edges* edges, Buffer* store,
               list result) except -1:
    # Persons: the tasks with an eligible agent. Benefits scaled by nt + 1: why in batch_py.
    cdef Py_ssize_t fd = edges.max_obj + 1, E = edges.n, no = fd + nt, i
    cdef Py_ssize_t wide = 2 * nt + fd + 2 + (8 + RCACHE) * no + (6 + CACHE) * nt
    cdef Py_ssize_t narrow = fd + 2 * E + RCACHE * no + CACHE * nt
    cdef Auction s
    if no >= 2147483647:  # objects and persons are numbered in int32
        raise MemoryError("batch too large")
    cdef char* block = take(store, 8 * wide + 4 * narrow, False)
    cdef Py_ssize_t* live = <Py_ssize_t*>block
    cdef int32_t* slot = <int32_t*>(block + 8 * wide)
    prepare(&s, nt, off, edges, live, <int64_t*>(live + nt), slot)
    run_auction(&s, edges.max_ben * s.scale)
    job_end(&s.columns)
    for i in range(s.n):
        if s.assigned[i] < s.first_dummy:
            result[live[i]] = slot[s.assigned[i]]
    return 0


cdef void prepare(Auction* s, Py_ssize_t nt, const int64_t* off, Edges* edges, Py_ssize_t* live,
                  int64_t* wide, int32_t* narrow) noexcept:
    # Lays out the auction in the block: live persons, rows, columns and the work arrays.
    cdef Py_ssize_t n = 0, t, m, E = edges.n, fd = edges.max_obj + 1
    cdef Py_ssize_t* rstart = <Py_ssize_t*>wide
    for t in range(nt):
        if off[t + 1] > off[t]:
            live[n] = t
            rstart[n] = off[t]
            n += 1
    rstart[n] = E
    s.scale = nt + 1
    s.n, s.rstart, s.row = n, rstart, edges.pair
    m = number_agents(s, edges, narrow, rstart + nt + 1, <Pair*>(narrow + fd))
    start_columns(s)  # on a second thread when there are many pairs
    agent_slots(narrow, fd)
    s.n_obj, s.first_dummy = m + n, m
    init_work(s, <int64_t*>(rstart + nt + 1 + m + 1), narrow + fd + 2 * E)


cdef void init_work(Auction* s, int64_t* w, int32_t* small) noexcept:
    # The auction's arrays: (8 + RCACHE) * n_obj + (6 + CACHE) * n values from w,
    # RCACHE * n_obj + CACHE * n from small.
    cdef Py_ssize_t i, n = s.n, no = s.n_obj, length
    s.price, s.owner, s.ring = w, w + no, w + 2 * no
    s.rlen, s.rbound, s.repoch = w + 3 * no, w + 4 * no, w + 5 * no
    s.dropped, s.dropmark = w + 6 * no, w + 7 * no
    s.rb = w + 8 * no
    w += (8 + RCACHE) * no
    s.profit, s.assigned, s.clen, s.bound = w, w + n, w + 2 * n, w + 3 * n
    s.cls, s.nxt, s.cw = w + 4 * n, w + 5 * n, w + 6 * n
    s.rp, s.co = small, small + RCACHE * no
    s.epoch = 0
    for i in range(no):
        s.price[i] = 0
        s.owner[i] = -1
        s.repoch[i] = -1
        s.dropmark[i] = -1
    for i in range(n):
        s.profit[i] = 0
        s.assigned[i] = -1
        s.clen[i] = 0
        s.bound[i] = STALE
        length = s.rstart[i + 1] - s.rstart[i] + 1
        s.cls[i] = 0
        while length:
            s.cls[i] += 1
            length >>= 1

# The batch's pairs: included by _batch.pxi. Every task is read first, with all the Python code
# its sequences may run; then each task's candidates are listed and scored without touching a
# Python object, for a large batch the last of them on a second thread (_thread.pxi).

# From this many tasks on, the second thread pays for its start (some 25 us). It takes the
# last tasks, all but SPLIT percent of them: it starts later, and with none of the index in its
# core's caches (bench.kernel's batch: 1.6 us a task there, 1.0 here).
cdef Py_ssize_t THREAD_TASKS = 128
cdef Py_ssize_t SPLIT = 62


cdef struct TaskSpec:
    # What a task asks, read from its tuple. Its words (Words) are its required skills and
    # levels, then its preferred ones, then the agents it excludes.
    int channel
    int n_req
    int n_pref
    Py_ssize_t w0
    Py_ssize_t n_ex
    uint64_t groups
    double w_prio  # the task's own terms of the score, weighted
    double w_sla


cdef struct Words:
    int64_t* v
    Py_ssize_t n
    Py_ssize_t cap
    Buffer* store


cdef int push(Words* w, int64_t x) except -1:
    if w.n == w.cap:
        w.cap = max(64, 2 * w.cap)
        w.v = <int64_t*>take(w.store, w.cap * sizeof(int64_t), True)
    w.v[w.n] = x
    w.n += 1
    return 0


cdef int read_task(AgentIndex ag, object task, double now, TaskSpec* spec, Words* w) except -1:
    # Checks a task as the twin does, in the same order, and keeps what it asks.
    cdef Terms req, pref
    cdef double wait, urgency
    cdef int k
    cdef uint64_t g
    channel, skills, levels, pref_skills, pref_levels, groups, priority, target, since, exc = task
    load_task(ag, channel, skills, levels, pref_skills, pref_levels, groups, priority, target,
              &req, &pref, &g)
    cdef int64_t prio = priority
    cdef double tgt = target, sn = since
    if isnan(sn):
        raise ValueError("since must not be NaN")
    wait = now - sn
    if not wait > 0.0:
        wait = 0.0
    urgency = wait / tgt
    if not urgency < 100.0:
        urgency = 100.0
    spec.channel, spec.groups, spec.n_req, spec.n_pref = channel, g, req.n, pref.n
    spec.w_prio = ag.w_prio * (<double>prio / 10.0)
    spec.w_sla = ag.w_sla * urgency
    spec.w0 = w.n
    for k in range(req.n):
        push(w, req.skill[k])
        push(w, req.level[k])
    for k in range(pref.n):
        push(w, pref.skill[k])
        push(w, pref.level[k])
    for x in exc:  # Python code may run here, even calls that grow the index
        if 0 <= x <= MAX_SLOT:
            push(w, x)
    spec.n_ex = w.n - spec.w0 - 2 * (req.n + pref.n)
    return 0


cdef struct Lister:
    # One thread's tasks, lo..hi - 1, its scratch, and the pairs it finds: up to task t,
    # off[t + 1 - lo] of them. status: 0, PAIRS_OUT_OF_RANGE or PAIRS_NO_MEMORY (it stops at the
    # first task that fails).
    const TaskSpec* specs
    const int64_t* words
    Bits bits
    Py_ssize_t lo, hi
    int64_t* off
    uint64_t* acc
    int64_t* cand
    Scoring sc
    Edges out
    int status


cdef enum:
    PAIRS_OUT_OF_RANGE = 1
    PAIRS_NO_MEMORY = 2


cdef void unpack_terms(Terms* t, const int64_t* w, int n) noexcept nogil:
    cdef int k
    t.n, t.base = n, 0
    for k in range(n):
        t.skill[k] = <int32_t>w[2 * k]
        t.level[k] = <int32_t>w[2 * k + 1]
        t.base += w[2 * k + 1]


cdef int task_pairs(Lister* L, Py_ssize_t t) noexcept nogil:
    # Appends task t's pairs to L.out; returns 0 or what failed.
    cdef Terms req, pref
    cdef const TaskSpec* spec = L.specs + t
    cdef const int64_t* w = L.words + spec.w0
    cdef Py_ssize_t n, x
    unpack_terms(&req, w, spec.n_req)
    unpack_terms(&pref, w + 2 * spec.n_req, spec.n_pref)
    w += 2 * (spec.n_req + spec.n_pref)
    and_terms(&L.bits, spec.channel, &req, L.acc)
    for x in range(spec.n_ex):
        drop(&L.bits, L.acc, w[x])
    n = list_bits(L.acc, L.bits.nwords, L.cand)
    n = keep_live(&L.bits, L.cand, n, spec.groups, L.sc.now)
    if not reserve(&L.out, n):
        return PAIRS_NO_MEMORY
    # The task's own terms, as the twin computes them; added last, in the twin's order.
    if score_pairs(&L.sc, L.cand, n, &pref, req.base, spec.w_prio, spec.w_sla, &L.out):
        return PAIRS_OUT_OF_RANGE
    return 0


cdef void list_pairs(Lister* L) noexcept nogil:
    cdef Py_ssize_t t
    for t in range(L.lo, L.hi):
        L.status = task_pairs(L, t)
        if L.status:
            return
        L.off[t + 1 - L.lo] = L.out.n


cdef void list_job(void* arg) noexcept nogil:
    list_pairs(<Lister*>arg)


cdef int lister_open(Lister* L, AgentIndex ag, double now, Buffer* terms) except -1:
    L.bits = bits_of(ag)
    L.status = 0
    L.sc.levels, L.sc.width, L.sc.hot = &ag.levels[0, 0], ag.width, &ag.hot[0, 0]
    L.sc.w_fit, L.sc.w_load, L.sc.w_idle = ag.w_fit, ag.w_load, ag.w_idle
    L.sc.half_life, L.sc.now = ag.half_life, now
    L.sc.terms, L.sc.size = terms, 0
    track(ag, &L.sc)
    return 0


cdef int all_pairs(AgentIndex ag, object tasks, double now, Buffers* bufs, Edges* edges,
                   int64_t* off) except -1:
    # edges: the pairs of every task, in order; off[t + 1]: how many up to task t.
    cdef Py_ssize_t nt = len(tasks), t, split = nt
    cdef Words w
    cdef Lister main, side
    cdef Job job
    cdef TaskSpec* specs = <TaskSpec*>take(&bufs.tasks, max(nt, 1) * sizeof(TaskSpec), False)
    w.v, w.n, w.cap, w.store = <int64_t*>bufs.words.p, 0, bufs.words.size // 8, &bufs.words
    for t in range(nt):
        read_task(ag, tasks[t], now, specs + t, &w)
    lister_open(&main, ag, now, &bufs.agent)
    main.specs, main.words, main.off = specs, w.v, off
    main.acc, main.cand = &ag.acc[0], &ag.cand[0]
    main.out = edges[0]
    side.status = 0
    job.running, job.done = False, NULL
    if nt >= THREAD_TASKS:
        split = nt * SPLIT // 100
        lister_open(&side, ag, now, &bufs.side_agent)
        side.specs, side.words, side.lo, side.hi = specs, w.v, split, nt
        side.off = off + split  # its own counts, made absolute below
        side.acc = <uint64_t*>take(&bufs.side_scan, 8 * (ag.nwords + ag.size), False)
        side.cand = <int64_t*>(side.acc + ag.nwords)
        edges_open(&side.out, &bufs.side_pair)
        if not job_start(&job, list_job, &side):
            split = nt  # no thread: this one takes every task
    main.lo, main.hi = 0, split
    try:
        list_pairs(&main)
    finally:
        job_end(&job)
    edges[0] = main.out
    if main.status == 0 and split < nt:
        main.status = side.status
        if side.status == 0:
            if not reserve(edges, side.out.n):
                raise MemoryError()
            join_pairs(edges, &side.out, off, split, nt)
    if main.status == PAIRS_NO_MEMORY:
        raise MemoryError()
    if main.status == PAIRS_OUT_OF_RANGE:
        raise ValueError("pair score out of range; weights or priority too large")
    return 0


cdef void join_pairs(Edges* edges, const Edges* more, int64_t* off, Py_ssize_t lo,
                     Py_ssize_t hi) noexcept:
    # Appends more, the pairs of tasks lo..hi - 1, to edges.
    cdef Py_ssize_t t
    memcpy(edges.pair + edges.n, more.pair, more.n * sizeof(Pair))
    for t in range(lo + 1, hi + 1):
        off[t] += edges.n
    edges.n += more.n
    edges.max_ben = max(edges.max_ben, more.max_ben)
    edges.max_obj = max(edges.max_obj, more.max_obj)

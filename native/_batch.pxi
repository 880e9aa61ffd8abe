# batch_match: included by _kernel.pyx. Same reduction, bid order and ties as native/batch_py.py.

cdef int64_t MAX_BENEFIT = 2147483648
# Epsilon schedule, equal to native/batch_py.py (why these values: there).
cdef int64_t THETA = 5
cdef int64_t FIRST_DIV = 4096
cdef int64_t NEG = -4611686018427387904  # -(2**62): below any value a bid can see


cdef struct Buf:
    int64_t* p
    Py_ssize_t n
    Py_ssize_t cap


cdef int buf_push(Buf* b, int64_t v) except -1:
    cdef int64_t* q
    cdef Py_ssize_t cap
    if b.n == b.cap:
        cap = 2 * b.cap if b.cap else 1024
        q = <int64_t*>realloc(b.p, cap * sizeof(int64_t))
        if q == NULL:
            raise MemoryError()
        b.p = q
        b.cap = cap
    b.p[b.n] = v
    b.n += 1
    return 0


cdef int task_edges(AgentIndex ag, object task, double now, Buf* slots, Buf* bens) except -1:
    cdef Terms req, pref
    cdef Py_ssize_t i, n
    cdef int64_t a
    cdef double wait, urgency, prio, score, x
    channel, skills, levels, pref_skills, pref_levels, groups, priority, target, since, exc = task
    ag._check_channel(channel)
    load_terms(&req, skills, levels, ag.n_skills)
    load_terms(&pref, pref_skills, pref_levels, ag.n_skills)
    cdef uint64_t g = groups
    check_priority(priority)
    check_target(target)
    cdef double tgt = target, sn = since
    if isnan(sn):
        raise ValueError("since must not be NaN")
    wait = now - sn
    if not wait > 0.0:
        wait = 0.0
    urgency = wait / tgt
    if not urgency < 100.0:
        urgency = 100.0
    prio = <double>(<int64_t>priority) / 10.0
    n = ag._collect(channel, &req, exc)
    n = ag._filter(n, g, now)
    for i in range(n):
        a = ag.cand[i]
        score = (ag.w_fit * fit_of(&ag.levels[a, 0], ag.hot[a, H_TOTAL], req.base, pref.skill,
                                   pref.level, pref.n)
                 + ag.w_load * ag.hot[a, H_LOAD]
                 + ag.w_idle * idle_of(ag.hot[a, H_IDLE], now, ag.half_life)
                 + ag.w_prio * prio
                 + ag.w_sla * urgency)
        x = (score + 1.0) * 10000.0 + 0.5
        if not (x >= 1.0 and x < <double>MAX_BENEFIT + 1.0):
            raise ValueError("pair score out of range; weights or priority too large")
        buf_push(slots, a)
        buf_push(bens, <int64_t>x)
    return 0


def batch_match(AgentIndex agents not None, tasks, double now):
    cdef Py_ssize_t nt = len(tasks), t
    cdef Buf slots, bens
    check_now(now)
    result = [-1] * nt
    off = np.zeros(nt + 1, np.int64)
    cdef int64_t[::1] offv = off
    slots.p = bens.p = NULL
    slots.n = slots.cap = bens.n = bens.cap = 0
    try:
        for t in range(nt):
            task_edges(agents, tasks[t], now, &slots, &bens)
            offv[t + 1] = slots.n
        if slots.n:
            solve(agents, nt, &offv[0], slots.p, bens.p, result)
    finally:
        free(slots.p)
        free(bens.p)
    return result


cdef int solve(AgentIndex ag, Py_ssize_t nt, const int64_t* off, const int64_t* eslot,
               const int64_t* eben, list result) except -1:
    # Square reduction: persons = live tasks then agent copies; objects = agents then task
    # copies. Task rows: its agents ascending, then its own copy. Agent-copy rows: its own
    # agent, then the copies of its tasks ascending.
    cdef Py_ssize_t n = 0, m = 0, i, j, e, p, t, a, N, E = off[nt]
    cdef int64_t scale, maxb = 0
    loc_a = np.full(ag.size, -1, np.int64)
    slot_a = np.zeros(ag.size, np.int64)
    live_a = np.zeros(nt, np.int64)
    cdef int64_t[::1] loc = loc_a, slot = slot_a, live = live_a
    for e in range(E):
        loc[eslot[e]] = 0
    for a in range(ag.size):
        if loc[a] == 0:
            loc[a] = m
            slot[m] = a
            m += 1
    for t in range(nt):
        if off[t + 1] > off[t]:
            live[n] = t
            n += 1
    N = n + m
    scale = N + 1
    start_a = np.zeros(N + 1, np.int64)
    fill_a = np.zeros(m, np.int64)
    obj_a = np.zeros(2 * E + N, np.int64)
    ben_a = np.zeros(2 * E + N, np.int64)
    cdef int64_t[::1] start = start_a, fill = fill_a, obj = obj_a, ben = ben_a
    for e in range(E):
        fill[loc[eslot[e]]] += 1
    for i in range(n):
        start[i + 1] = start[i] + off[live[i] + 1] - off[live[i]] + 1
    for j in range(m):
        start[n + j + 1] = start[n + j] + 1 + fill[j]
        obj[start[n + j]] = j
        fill[j] = start[n + j] + 1
    for i in range(n):
        p = start[i]
        for e in range(off[live[i]], off[live[i] + 1]):
            j = loc[eslot[e]]
            obj[p] = j
            ben[p] = eben[e] * scale
            maxb = max(maxb, ben[p])
            p += 1
            obj[fill[j]] = m + i
            fill[j] += 1
        obj[p] = m + i
    assigned_a = np.zeros(N, np.int64)
    work_a = np.zeros(3 * N, np.int64)
    cdef int64_t[::1] assigned = assigned_a, work = work_a
    auction(N, &start[0], &obj[0], &ben[0], maxb, &assigned[0], &work[0])
    for i in range(n):
        if assigned[i] < m:
            result[live[i]] = slot[assigned[i]]
    return 0


cdef void auction(Py_ssize_t size, const int64_t* start, const int64_t* obj, const int64_t* ben,
                  int64_t max_benefit, int64_t* assigned, int64_t* work) noexcept nogil:
    # Forward auction, Gauss-Seidel, FIFO of unassigned persons; every row has >= 2 edges.
    cdef int64_t* price = work
    cdef int64_t* owner = work + size
    cdef int64_t* queue = work + 2 * size
    cdef int64_t eps = max_benefit // FIRST_DIV, v, best_v, second_v, best_j, prev
    cdef Py_ssize_t i, e, head, count
    if eps < 1:
        eps = 1
    for i in range(size):
        price[i] = 0
    while True:
        for i in range(size):
            owner[i] = -1
            assigned[i] = -1
            queue[i] = i
        head = 0
        count = size
        while count:
            i = queue[head]
            head = head + 1 if head + 1 < size else 0
            count -= 1
            best_j, best_v, second_v = -1, NEG, NEG
            for e in range(start[i], start[i + 1]):
                v = ben[e] - price[obj[e]]
                if v > best_v:
                    second_v = best_v
                    best_v = v
                    best_j = obj[e]
                elif v > second_v:
                    second_v = v
            price[best_j] += best_v - second_v + eps
            prev = owner[best_j]
            owner[best_j] = i
            assigned[i] = best_j
            if prev >= 0:
                assigned[prev] = -1
                queue[(head + count) % size] = prev
                count += 1
        if eps == 1:
            return
        eps = eps // THETA
        if eps < 1:
            eps = 1

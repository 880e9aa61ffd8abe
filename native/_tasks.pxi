# TaskBoard: included by _kernel.pyx. Same rules and results as native/tasks_py.py.


cdef int load_task(AgentIndex ag, object channel, object skills, object levels,
                   object pref_skills, object pref_levels, object groups, object priority,
                   object target, Terms* req, Terms* pref, uint64_t* g) except -1:
    # A task's channel, terms, groups, priority and target, checked as the twin's check_task
    # checks them, in the same order; each converted where it is checked.
    ag._check_channel(channel)
    load_terms(req, skills, levels, ag.n_skills)
    load_terms(pref, pref_skills, pref_levels, ag.n_skills)
    g[0] = groups
    check_priority(priority)
    check_target(target)
    return 0


@cython.final
cdef class TaskBoard:
    cdef AgentIndex agents
    cdef Py_ssize_t size, width
    cdef uint8_t[::1] defined
    cdef int32_t[::1] channel, n_req, n_pref
    cdef uint64_t[::1] groups
    cdef int64_t[::1] priority, base
    cdef double[::1] target, since
    # Terms per bucket, `width` wide; the width grows with the longest list seen.
    cdef int32_t[:, ::1] req_s, req_l, pref_s, pref_l

    def __init__(self, AgentIndex agents not None, Py_ssize_t size_hint=64):
        if size_hint < 0:
            raise ValueError("size_hint must be >= 0")
        self.agents = agents
        self.size = 0
        self.width = 0
        self._grow(size_hint if size_hint > 16 else 16, 4)

    cdef int _grow(self, Py_ssize_t need, Py_ssize_t width) except -1:
        cdef Py_ssize_t new = max(need, 2 * self.size) if need > self.size else self.size
        width = max(width, 2 * self.width) if width > self.width else self.width
        if new == self.size and width == self.width:
            return 0
        o = self.size > 0
        self.defined = _grown(self.defined if o else None, new, np.uint8)
        self.channel = _grown(self.channel if o else None, new, np.int32)
        self.n_req = _grown(self.n_req if o else None, new, np.int32)
        self.n_pref = _grown(self.n_pref if o else None, new, np.int32)
        self.groups = _grown(self.groups if o else None, new, np.uint64)
        self.priority = _grown(self.priority if o else None, new, np.int64)
        self.base = _grown(self.base if o else None, new, np.int64)
        self.target = _grown(self.target if o else None, new, np.float64, 1.0)
        self.since = _grown(self.since if o else None, new, np.float64, np.inf)
        self.req_s = _grown(self.req_s if o else None, (new, width), np.int32)
        self.req_l = _grown(self.req_l if o else None, (new, width), np.int32)
        self.pref_s = _grown(self.pref_s if o else None, (new, width), np.int32)
        self.pref_l = _grown(self.pref_l if o else None, (new, width), np.int32)
        self.size = new
        self.width = width
        return 0

    def set_bucket(self, Py_ssize_t b, int channel, skills, levels, pref_skills, pref_levels,
                   groups, priority, double target):
        cdef Terms req, pref
        cdef int j
        if not 0 <= b <= MAX_SLOT:
            raise ValueError(f"bucket {b} out of range")
        cdef uint64_t g
        load_task(self.agents, channel, skills, levels, pref_skills, pref_levels, groups,
                  priority, target, &req, &pref, &g)
        self._grow(b + 1, max(req.n, pref.n, 1))
        if not self.defined[b]:
            self.since[b] = INFINITY
        self.defined[b] = 1
        self.channel[b] = channel
        self.n_req[b] = req.n
        self.n_pref[b] = pref.n
        self.groups[b] = g
        self.priority[b] = priority
        self.base[b] = req.base
        self.target[b] = target
        for j in range(req.n):
            self.req_s[b, j] = req.skill[j]
            self.req_l[b, j] = req.level[j]
        for j in range(pref.n):
            self.pref_s[b, j] = pref.skill[j]
            self.pref_l[b, j] = pref.level[j]

    cdef inline int _check(self, Py_ssize_t b) except -1:
        if not (0 <= b < self.size and self.defined[b]):
            raise KeyError(b)
        return 0

    def set_head(self, Py_ssize_t b, double since):
        self._check(b)
        if isnan(since) or since == -INFINITY:
            raise ValueError("since must be finite or +inf (empty)")
        self.since[b] = since

    def clear_bucket(self, Py_ssize_t b):
        self._check(b)
        self.defined[b] = 0
        self.since[b] = INFINITY

    def rank(self, Py_ssize_t a, double now, Py_ssize_t k):
        cdef AgentIndex ag = self.agents
        cdef Cand stack[STACK_K]
        cdef TopK top
        cdef Py_ssize_t b
        cdef uint64_t ready, g
        cdef const uint8_t* row
        cdef double since, wait, fit, score, total
        ag._check(a)
        check_now(now)
        if k <= 0 or ag.hot[a, H_LEASE] < now:
            return []
        ready = ag.ready_mask[a]
        g = ag.groups[a]
        row = &ag.levels[a, 0]
        total = ag.hot[a, H_TOTAL]
        topk_init(&top, min(k, self.size), stack)
        for b in range(self.size):
            since = self.since[b]
            # Undefined buckets keep since = +inf, so one test skips them and the empty ones.
            if since == INFINITY or not (ready >> self.channel[b]) & 1:
                continue
            if self.groups[b] != 0 and (g & self.groups[b]) == 0:
                continue
            if not row_holds(row, &self.req_s[b, 0], &self.req_l[b, 0], self.n_req[b]):
                continue
            fit = fit_of(row, total, self.base[b], &self.pref_s[b, 0], &self.pref_l[b, 0],
                         self.n_pref[b])
            wait = now - since
            if not wait > 0.0:
                wait = 0.0
            score = (ag.w_prio * (<double>self.priority[b] / 10.0)
                     + ag.w_sla * (wait / self.target[b]) + ag.w_fit * fit)
            topk_push(&top, score, since, b)
        return topk_finish(&top, stack)


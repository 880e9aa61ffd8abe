# AgentIndex: included by _kernel.pyx. Same rules and results as native/agents_py.py.


def _grown(old, shape, dtype, fill=0):
    """A new array of `shape` holding `old` (None or a smaller array) in its leading corner."""
    arr = np.full(shape, fill, dtype)
    if old is not None:
        src = np.asarray(old)
        arr[tuple(slice(0, x) for x in src.shape)] = src
    return arr


@cython.final
cdef class AgentIndex:
    cdef int n_skills, n_channels, width, hwords
    cdef Py_ssize_t size, nwords
    cdef int64_t cost[MAX_CHANNELS]
    cdef uint64_t blocks[MAX_CHANNELS]
    cdef uint64_t intr[MAX_CHANNELS]
    cdef double w_fit, w_load, w_idle, w_sla, w_prio, half_life
    cdef uint8_t[:, ::1] levels
    cdef uint64_t[:, ::1] held  # per agent, a bit for each skill it holds at some level
    cdef uint8_t[::1] present, routable
    cdef int64_t[::1] capacity, cand
    cdef uint64_t[::1] acc  # scratch words of the candidates (_candidates.pxi)
    cdef uint64_t[::1] groups, ready_mask
    cdef int64_t[:, ::1] counts, caps
    # What scoring reads per candidate, one row of H_COLS per agent so it costs one cache line:
    # lease_until, idle_since, the load part (recomputed with the twin's formula whenever counts
    # or capacity change) and the total of the agent's levels.
    cdef double[:, ::1] hot
    cdef uint64_t[:, :, ::1] skill_bits
    cdef uint64_t[:, ::1] ready_bits
    cdef BatchScratch scratch  # batch_match's buffers, kept for this index's next batch
    # Ready agents by bucket (equal load part and level total), each bucket a list ordered by
    # idle_since and a loose one, for rank's walk (_idle_order.pxi): links per slot, ends per
    # bucket.
    cdef int64_t[::1] nxt, prv, bucket_of, bhead, btail, bloose, nloose
    cdef double[::1] bload, btotal
    # Per bucket and skill, how many of its agents (either list) hold each level: bhave[b, s,
    # lv - 1] counts those at lv, so that the walk bounds a bucket's preferred-skill bonus by
    # what its agents have rather than by what the task asks.
    cdef int32_t[:, :, ::1] bhave
    cdef Py_ssize_t nbuckets, nlinked
    cdef dict bucket_ids

    def __cinit__(self, *args, **kwargs):
        self.scratch = BatchScratch()
        self.bucket_ids = {}
        self.bhead = np.full(8, -1, np.int64)
        self.btail = np.full(8, -1, np.int64)
        self.bloose = np.full(8, -1, np.int64)
        self.nloose = np.zeros(8, np.int64)
        self.bload = np.zeros(8, np.float64)
        self.btotal = np.zeros(8, np.float64)

    def __init__(self, int n_skills, channel_costs, blocks, interruptible_by, weights,
                 double idle_half_life, Py_ssize_t size_hint=64):
        cdef Py_ssize_t c, n = len(channel_costs)
        if n_skills < 0:
            raise ValueError("n_skills must be >= 0")
        if not 1 <= n <= MAX_CHANNELS:
            raise ValueError(f"1..{MAX_CHANNELS} channels")
        if len(blocks) != n or len(interruptible_by) != n:
            raise ValueError("blocks and interruptible_by need one mask per channel")
        if any(x < 0 for x in channel_costs):
            raise ValueError("channel costs must be >= 0")
        if any(not 0 <= m < (1 << n) for m in (*blocks, *interruptible_by)):
            raise ValueError("channel masks out of range")
        w = [float(x) for x in weights]
        if len(w) != 5 or any(not (isfinite(x) and x >= 0.0) for x in w):
            raise ValueError("five finite weights >= 0 are needed")
        if not (isfinite(idle_half_life) and idle_half_life > 0.0):
            raise ValueError("idle_half_life must be finite and > 0")
        if size_hint < 0:
            raise ValueError("size_hint must be >= 0")
        self.n_skills = n_skills
        self.n_channels = <int>n
        self.width = n_skills if n_skills > 0 else 1
        self.hwords = (self.width + 63) >> 6
        self.bhave = np.zeros((8, self.width, MAX_LEVEL), np.int32)
        for c in range(n):
            self.cost[c] = channel_costs[c]
            self.blocks[c] = blocks[c]
            self.intr[c] = interruptible_by[c]
        self.w_fit, self.w_load, self.w_idle, self.w_sla, self.w_prio = w
        self.half_life = idle_half_life
        self.size = 0
        self.nwords = 0
        self._grow(size_hint if size_hint > 64 else 64)

    cdef int _grow(self, Py_ssize_t need) except -1:
        cdef Py_ssize_t old = self.size, new = 2 * old
        if need <= old:
            return 0
        new = (max(need, new) + 63) & ~63
        nw = new >> 6
        S, C, o = self.n_skills, self.n_channels, old > 0
        self.levels = _grown(self.levels if o else None, (new, self.width), np.uint8)
        self.held = _grown(self.held if o else None, (new, self.hwords), np.uint64)
        self.present = _grown(self.present if o else None, new, np.uint8)
        self.routable = _grown(self.routable if o else None, new, np.uint8)
        self.capacity = _grown(self.capacity if o else None, new, np.int64)
        self.cand = np.zeros(new, np.int64)
        self.acc = np.zeros(nw, np.uint64)
        self.groups = _grown(self.groups if o else None, new, np.uint64)
        self.ready_mask = _grown(self.ready_mask if o else None, new, np.uint64)
        self.counts = _grown(self.counts if o else None, (new, C), np.int64)
        self.caps = _grown(self.caps if o else None, (new, C), np.int64)
        self.hot = _grown(self.hot if o else None, (new, H_COLS), np.float64)
        self.skill_bits = _grown(self.skill_bits if o else None, (S, MAX_LEVEL, nw), np.uint64)
        self.ready_bits = _grown(self.ready_bits if o else None, (C, nw), np.uint64)
        self.nxt = _grown(self.nxt if o else None, new, np.int64, -1)
        self.prv = _grown(self.prv if o else None, new, np.int64, -1)
        self.bucket_of = _grown(self.bucket_of if o else None, new, np.int64, -1)
        self.size = new
        self.nwords = nw
        return 0

    cdef inline int _check(self, Py_ssize_t a) except -1:
        if not (0 <= a < self.size and self.present[a]):
            raise KeyError(a)
        return 0

    cdef inline int _check_channel(self, int channel) except -1:
        if not 0 <= channel < self.n_channels:
            raise ValueError(f"channel {channel} out of range")
        return 0

    cdef uint64_t _compute_ready(self, Py_ssize_t a) noexcept:
        cdef int c, x, C = self.n_channels
        cdef uint64_t blocked = 0, mask = 0
        cdef int64_t used
        cdef int64_t* cnt = &self.counts[a, 0]
        cdef int64_t* caps = &self.caps[a, 0]
        if not (self.present[a] and self.routable[a]):
            return 0
        for x in range(C):
            if cnt[x]:
                blocked |= self.blocks[x]
        for c in range(C):
            if (blocked >> c) & 1 or cnt[c] >= caps[c]:
                continue
            used = 0
            for x in range(C):
                if not (self.intr[x] >> c) & 1:
                    used += cnt[x] * self.cost[x]
            if used + self.cost[c] <= self.capacity[a]:
                mask |= (<uint64_t>1) << c
        return mask

    cdef int _refresh(self, Py_ssize_t a) except -1:
    # After any change to agent a: its readiness bits, load part and place for rank's walk.
        cdef uint64_t old = self.ready_mask[a], new = self._compute_ready(a)
        cdef uint64_t bit = (<uint64_t>1) << (a & 63)
        cdef Py_ssize_t word = a >> 6
        cdef int c
        cdef int64_t used = 0
        cdef double v = 0.0
        for c in range(self.n_channels):
            if ((old ^ new) >> c) & 1:
                if (new >> c) & 1:
                    self.ready_bits[c, word] |= bit
                else:
                    self.ready_bits[c, word] &= ~bit
        self.ready_mask[a] = new
        for c in range(self.n_channels):
            used += self.counts[a, c] * self.cost[c]
        if self.capacity[a] != 0:
            v = 1.0 - <double>used / <double>self.capacity[a]
            if v < 0.0:
                v = 0.0
        self.hot[a, H_LOAD] = v
        return relink(self, a)

    cdef void _set_levels(self, Py_ssize_t a, const uint8_t* row) noexcept:
        cdef uint64_t bit = (<uint64_t>1) << (a & 63)
        cdef Py_ssize_t word = a >> 6
        cdef int s, lv
        cdef uint8_t old, new
        cdef int64_t total = 0
        cdef int64_t b = self.bucket_of[a]
        cdef uint64_t* held = &self.held[a, 0]
        if b != -1:  # its bucket's counts follow its levels, wherever it goes next
            tally(self, a, b if b >= 0 else -2 - b, -1)
        memset(held, 0, self.hwords * sizeof(uint64_t))
        for s in range(self.n_skills):
            old = self.levels[a, s]
            new = row[s]
            for lv in range(min(old, new), max(old, new)):
                if new > old:
                    self.skill_bits[s, lv, word] |= bit
                else:
                    self.skill_bits[s, lv, word] &= ~bit
            self.levels[a, s] = new
            if new:
                held[s >> 6] |= (<uint64_t>1) << (s & 63)
            total += new
        self.hot[a, H_TOTAL] = <double>total
        if b != -1:
            tally(self, a, b if b >= 0 else -2 - b, 1)

    def set_agent(self, Py_ssize_t a, levels, groups, capacity, caps):
        cdef Py_ssize_t s, c
        if not 0 <= a <= MAX_SLOT:
            raise ValueError(f"agent slot {a} out of range")
        row = np.zeros(self.width, np.uint8)
        if len(levels) != self.n_skills or any(not 0 <= x <= MAX_LEVEL for x in levels):
            raise ValueError(f"levels need {self.n_skills} values in 0..{MAX_LEVEL}")
        if len(caps) != self.n_channels or any(x < 0 for x in caps):
            raise ValueError(f"caps need {self.n_channels} values >= 0")
        cdef uint64_t g = groups
        cdef int64_t cap = capacity
        if cap < 0:
            raise ValueError("capacity must be >= 0")
        for s in range(self.n_skills):
            row[s] = levels[s]
        self._grow(a + 1)
        if not self.present[a]:
            self.present[a] = 1
            for c in range(self.n_channels):
                self.counts[a, c] = 0
            self.routable[a] = 0
            self.hot[a, H_LEASE] = -INFINITY
            self.hot[a, H_IDLE] = INFINITY
        cdef uint8_t[::1] rv = row
        self._set_levels(a, &rv[0])
        self.groups[a] = g
        self.capacity[a] = cap
        for c in range(self.n_channels):
            self.caps[a, c] = caps[c]
        self._refresh(a)

    def remove_agent(self, Py_ssize_t a):
        self._check(a)
        cdef uint8_t[::1] zero = np.zeros(self.width, np.uint8)
        self._set_levels(a, &zero[0])
        self.present[a] = 0
        self._refresh(a)

    def set_presence(self, Py_ssize_t a, bint routable, double lease_until, double idle_since):
        self._check(a)
        if isnan(lease_until):
            raise ValueError("lease_until must not be NaN")
        if isnan(idle_since) or idle_since == -INFINITY:
            raise ValueError("idle_since must be finite or +inf")
        self.routable[a] = routable
        self.hot[a, H_LEASE] = lease_until
        self.hot[a, H_IDLE] = idle_since
        self._refresh(a)

    def add_load(self, Py_ssize_t a, int channel, int64_t delta):
        self._check(a)
        self._check_channel(channel)
        cdef int64_t n = self.counts[a, channel] + delta
        if n < 0:
            raise ValueError("load would go below zero")
        self.counts[a, channel] = n
        self._refresh(a)

    def load(self, Py_ssize_t a):
        cdef int64_t used = 0
        cdef int c
        self._check(a)
        for c in range(self.n_channels):
            used += self.counts[a, c] * self.cost[c]
        return used

    def count(self, Py_ssize_t a, int channel):
        self._check(a)
        self._check_channel(channel)
        return self.counts[a, channel]

    def ready(self, Py_ssize_t a, int channel):
        self._check(a)
        self._check_channel(channel)
        return bool((self.ready_mask[a] >> channel) & 1)

    cdef inline bint _holds(self, Py_ssize_t a, const int32_t* sk, const int32_t* lv, int n,
                            uint64_t groups) noexcept:
        if not row_holds(&self.levels[a, 0], sk, lv, n):
            return False
        return groups == 0 or (self.groups[a] & groups) != 0

    def eligible(self, Py_ssize_t a, int channel, skills, levels, uint64_t groups, double now):
        cdef Terms req
        self._check(a)
        self._check_channel(channel)
        load_terms(&req, skills, levels, self.n_skills)
        check_now(now)
        if not (self.ready_mask[a] >> channel) & 1 or self.hot[a, H_LEASE] < now:
            return False
        return self._holds(a, req.skill, req.level, req.n, groups)

    def rank(self, int channel, skills, levels, pref_skills, pref_levels, uint64_t groups,
             double now, exclude, Py_ssize_t k):
        cdef Terms req, pref
        cdef Cand stack[STACK_K]
        cdef TopK top
        cdef Py_ssize_t n
        self._check_channel(channel)
        load_terms(&req, skills, levels, self.n_skills)
        load_terms(&pref, pref_skills, pref_levels, self.n_skills)
        check_now(now)
        if k <= 0:
            return []
        n = mask(self, channel, &req, exclude)
        topk_init(&top, min(k, n), stack)
        if walks(self, n):
            walk(self, &top, &req, &pref, groups, now)
        else:
            self._score_into(&top, listed(self), &req, &pref, groups, now)
        return topk_finish(&top, stack)

    cdef void _score_into(self, TopK* top, Py_ssize_t n, const Terms* req, const Terms* pref,
                          uint64_t groups, double now) noexcept:
        # keep_live fused with scoring, in one pass over the candidates. The only random
        # accesses per candidate are its hot row and, for a task with preferred skills, the
        # first preferred level in its level row: both prefetched ahead.
        cdef const int64_t* cand = &self.cand[0]
        cdef const double* hot = &self.hot[0, 0]
        cdef const uint8_t* levels = &self.levels[0, 0]
        cdef const double* h
        cdef double wf = self.w_fit, wl = self.w_load, wi = self.w_idle, rest, idle
        cdef Py_ssize_t i, a, width = self.width, ahead = pref.skill[0] if pref.n else 0
        for i in range(n):
            if i + PREFETCH < n:
                rd_prefetch(&hot[cand[i + PREFETCH] * H_COLS])
                rd_prefetch(&levels[cand[i + PREFETCH] * width + ahead])
            a = cand[i]
            h = &hot[a * H_COLS]
            if not h[H_LEASE] >= now or (groups != 0 and (self.groups[a] & groups) == 0):
                continue
            rest = wl * h[H_LOAD]
            idle = wi * idle_of(h[H_IDLE], now, self.half_life)
            # Rounding is monotonic, so this (fit = 1) bounds the score exactly.
            if top.n == top.k and wf * 1.0 + rest + idle < top.h[0].score:
                continue
            topk_push(top, wf * fit_of(&levels[a * width], h[H_TOTAL], req.base, pref.skill,
                                       pref.level, pref.n) + rest + idle, 0.0, a)

    def parts(self, Py_ssize_t a, int channel, skills, levels, pref_skills, pref_levels,
              double now):
        cdef Terms req, pref
        self._check(a)
        self._check_channel(channel)
        load_terms(&req, skills, levels, self.n_skills)
        load_terms(&pref, pref_skills, pref_levels, self.n_skills)
        check_now(now)
        fit = fit_of(&self.levels[a, 0], self.hot[a, H_TOTAL], req.base, pref.skill, pref.level,
                     pref.n)
        return (fit, self.hot[a, H_LOAD], idle_of(self.hot[a, H_IDLE], now, self.half_life))

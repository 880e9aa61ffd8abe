# Which agents can take a task: included by _kernel.pyx, after _agents.pxi. The candidates of a
# task are the agents ready on its channel that hold its required levels and are not excluded,
# found by ANDing bitsets word by word; the lease and the groups are checked per candidate.


cdef Py_ssize_t collect(AgentIndex ag, int channel, const Terms* req, object exclude) except -1:
    # Fills ag.cand with the slots that are ready on `channel`, hold the required levels
    # and are not excluded, ascending; returns how many. Lease and groups: keep_live.
    mask(ag, channel, req, exclude)
    return listed(ag)


cdef Py_ssize_t mask(AgentIndex ag, int channel, const Terms* req, object exclude) except -1:
    # Sets the bits of ag.acc of the candidates collect lists; returns how many.
    # The exclusions are read first: iterating them may run Python code, even a call on
    # this index that reuses acc and cand or grows every array.
    # One pass of whole-word ANDs over every required row at once (rd_and_count), with no
    # early exit: data-dependent branches per word mispredict and cost more than the loads
    # they would save.
    cdef int64_t few[STACK_K]
    cdef Py_ssize_t nfew = 0
    rest = None  # the exclusions past STACK_K, as plain ints
    for x in exclude:
        if 0 <= x <= MAX_SLOT:
            if nfew < STACK_K:
                few[nfew] = x
                nfew += 1
            elif rest is None:
                rest = [<int64_t>x]
            else:
                rest.append(<int64_t>x)
    cdef uint64_t* acc = &ag.acc[0]
    cdef const uint64_t* rows[MAX_TERMS]
    cdef Py_ssize_t n, i
    cdef int j, nb = 0
    for j in range(3):  # the first three are read in every case: never left unset
        rows[j] = &ag.ready_bits[channel, 0]
    for j in range(req.n):
        if req.level[j] > 0:
            rows[nb] = &ag.skill_bits[req.skill[j], req.level[j] - 1, 0]
            nb += 1
    n = rd_and_count(acc, &ag.ready_bits[channel, 0], rows, nb, ag.nwords)
    for i in range(nfew):
        n -= drop(ag, acc, few[i])
    if rest is not None:
        for v in rest:
            n -= drop(ag, acc, v)
    return n


cdef Py_ssize_t listed(AgentIndex ag) noexcept:
    # ag.cand from the bits of ag.acc, ascending; returns how many.
    cdef const uint64_t* acc = &ag.acc[0]
    cdef int64_t* out = &ag.cand[0]
    cdef Py_ssize_t w, n = 0, base
    cdef uint64_t m
    for w in range(ag.nwords):
        m = acc[w]
        base = w << 6
        while m:
            out[n] = base + rd_ctz64(m)
            m &= m - 1
            n += 1
    return n


cdef inline int drop(AgentIndex ag, uint64_t* acc, int64_t a) noexcept:
    # Clears a's bit; 1 if it was set.
    cdef uint64_t bit
    if a >= ag.size:
        return 0
    bit = (<uint64_t>1) << (a & 63)
    if not acc[a >> 6] & bit:
        return 0
    acc[a >> 6] &= ~bit
    return 1


cdef Py_ssize_t keep_live(AgentIndex ag, Py_ssize_t n, uint64_t groups, double now) noexcept:
    # Keeps the candidates whose lease holds at `now` and whose groups match. Rows are
    # prefetched ahead: the cache misses dominate at 10,000 agents and more.
    cdef const double* hot = &ag.hot[0, 0]
    cdef const uint64_t* agroups = &ag.groups[0]
    cdef int64_t* cand = &ag.cand[0]
    cdef Py_ssize_t i, j = 0, a
    for i in range(n):
        if i + PREFETCH < n:
            rd_prefetch(&hot[cand[i + PREFETCH] * H_COLS])
        a = cand[i]
        cand[j] = a
        j += hot[a * H_COLS + H_LEASE] >= now and (groups == 0 or (agroups[a] & groups) != 0)
    return j

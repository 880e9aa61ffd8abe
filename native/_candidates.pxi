# Which agents can take a task: included by _kernel.pyx, after _agents.pxi. The candidates of a
# task are the agents ready on its channel that hold its required levels and are not excluded,
# found by ANDing bitsets word by word; the lease and the groups are checked per candidate.


cdef Py_ssize_t mask(AgentIndex ag, int channel, const Terms* req, object exclude) except -1:
    # Sets the bits of ag.acc of the candidates; returns how many.
    # The exclusions are read first: iterating them may run Python code, even a call on
    # this index that reuses acc and cand or grows every array.
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
    cdef Bits b = bits_of(ag)
    cdef uint64_t* acc = &ag.acc[0]
    cdef Py_ssize_t n = and_terms(&b, channel, req, acc), i
    for i in range(nfew):
        n -= drop(&b, acc, few[i])
    if rest is not None:
        for v in rest:
            n -= drop(&b, acc, v)
    return n


cdef struct Bits:
    # What listing candidates reads of an AgentIndex, for code that runs without the GIL. Valid
    # until the index grows.
    const uint64_t* ready  # ready_bits: n_channels rows of nwords
    const uint64_t* skill  # skill_bits: a row of nwords per skill and level
    const double* hot
    const uint64_t* groups
    Py_ssize_t nwords, size


cdef inline Bits bits_of(AgentIndex ag) noexcept:
    cdef Bits b
    b.ready, b.skill = &ag.ready_bits[0, 0], &ag.skill_bits[0, 0, 0]
    b.hot, b.groups = &ag.hot[0, 0], &ag.groups[0]
    b.nwords, b.size = ag.nwords, ag.size
    return b


cdef Py_ssize_t and_terms(const Bits* b, int channel, const Terms* req,
                          uint64_t* acc) noexcept nogil:
    # acc: the agents ready on `channel` that hold every required level; returns how many.
    # One pass of whole-word ANDs over every required row at once (rd_and_count), with no
    # early exit: data-dependent branches per word mispredict and cost more than the loads
    # they would save.
    cdef const uint64_t* ready = b.ready + channel * b.nwords
    cdef const uint64_t* rows[MAX_TERMS]
    cdef int j, nb = 0
    for j in range(3):  # the first three are read in every case: never left unset
        rows[j] = ready
    for j in range(req.n):
        if req.level[j] > 0:
            rows[nb] = b.skill + (req.skill[j] * MAX_LEVEL + req.level[j] - 1) * b.nwords
            nb += 1
    return rd_and_count(acc, ready, rows, nb, b.nwords)


cdef inline Py_ssize_t listed(AgentIndex ag) noexcept:
    # ag.cand from the bits of ag.acc, ascending; returns how many.
    return list_bits(&ag.acc[0], ag.nwords, &ag.cand[0])


cdef Py_ssize_t list_bits(const uint64_t* acc, Py_ssize_t nwords, int64_t* out) noexcept nogil:
    # The set bits' numbers, ascending; returns how many.
    cdef Py_ssize_t w, n = 0, base
    cdef uint64_t m
    for w in range(nwords):
        m = acc[w]
        base = w << 6
        while m:
            out[n] = base + rd_ctz64(m)
            m &= m - 1
            n += 1
    return n


cdef inline int drop(const Bits* b, uint64_t* acc, int64_t a) noexcept nogil:
    # Clears a's bit; 1 if it was set.
    cdef uint64_t bit
    if a >= b.size:
        return 0
    bit = (<uint64_t>1) << (a & 63)
    if not acc[a >> 6] & bit:
        return 0
    acc[a >> 6] &= ~bit
    return 1


cdef Py_ssize_t keep_live(const Bits* b, int64_t* cand, Py_ssize_t n, uint64_t groups,
                          double now) noexcept nogil:
    # Keeps the candidates whose lease holds at `now` and whose groups match. Rows are
    # prefetched ahead: the cache misses dominate at 10,000 agents and more.
    cdef const double* hot = b.hot
    cdef const uint64_t* agroups = b.groups
    cdef Py_ssize_t i, j = 0, a
    for i in range(n):
        if i + PREFETCH < n:
            rd_prefetch(&hot[cand[i + PREFETCH] * H_COLS])
        a = cand[i]
        cand[j] = a
        j += hot[a * H_COLS + H_LEASE] >= now and (groups == 0 or (agroups[a] & groups) != 0)
    return j

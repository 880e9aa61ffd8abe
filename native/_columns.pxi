# The auction's columns: included by _batch.pxi. Reverse bids scan each agent's persons; the
# forward bids of the first epsilon phase, most of the batch, never do. So with many pairs the
# columns are filled on a second thread meanwhile (_thread.pxi), and the first reverse stage waits
# for them.

# Below this many pairs, starting a thread (some 25 us) costs more than filling them here.
cdef Py_ssize_t THREAD_PAIRS = 16384


cdef Py_ssize_t number_agents(Auction* s, Edges* edges, int32_t* slot, Py_ssize_t* cstart,
                              Pair* col) noexcept:
    # Numbers the eligible agents 0..m - 1 in slot order, in place in the pairs (slot[a] then
    # holds agent a's number, or -1), and sets cstart[j] to where column j starts in col, for
    # j in 0..m. Returns m.
    cdef Py_ssize_t e, a, m = 0, E = edges.n, size = edges.max_obj + 1
    cdef Pair* pair = edges.pair
    for a in range(size):
        slot[a] = 0
    for e in range(E):
        slot[pair[e].obj] += 1
    cstart[0] = 0
    for a in range(size):  # slot[a]: its number of pairs, then its number
        if slot[a]:
            cstart[m + 1] = cstart[m] + slot[a]
            slot[a] = <int32_t>m
            m += 1
        else:
            slot[a] = -1
    for e in range(E):
        pair[e].obj = slot[pair[e].obj]
    s.cstart, s.col, s.m = cstart, col, m
    return m


cdef void agent_slots(int32_t* slot, Py_ssize_t size) noexcept:
    # slot[j]: the slot of the agent numbered j (number_agents had it the other way round).
    cdef Py_ssize_t a, j = 0
    for a in range(size):
        if slot[a] >= 0:
            slot[j] = <int32_t>a
            j += 1


cdef void fill_columns(Auction* s) noexcept nogil:
    # Each agent's persons, ascending, with the benefits. Only reads the rows.
    cdef Py_ssize_t* cstart = <Py_ssize_t*>s.cstart
    cdef Pair* col = <Pair*>s.col
    cdef Py_ssize_t i, e, j, c
    for i in range(s.n):
        for e in range(s.rstart[i], s.rstart[i + 1]):
            j = s.row[e].obj
            c = cstart[j]  # column j's next free place, its end when done
            col[c].obj = <int32_t>i
            col[c].ben = s.row[e].ben
            cstart[j] = c + 1
    for j in range(s.m, 0, -1):
        cstart[j] = cstart[j - 1]
    cstart[0] = 0


cdef void fill_job(void* arg) noexcept nogil:
    fill_columns(<Auction*>arg)


cdef void start_columns(Auction* s) noexcept:
    # Fills the columns, here or on a thread of their own; columns_ready waits for them.
    # The thread writes nothing the forward bids read.
    s.columns.running, s.columns.done = False, NULL
    if s.rstart[s.n] < THREAD_PAIRS or not job_start(&s.columns, fill_job, s):
        fill_columns(s)


cdef inline void columns_ready(Auction* s) noexcept nogil:
    job_wait(&s.columns)

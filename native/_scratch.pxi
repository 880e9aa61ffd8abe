# Scratch memory of batch_match, owned by each AgentIndex: included by _kernel.pyx.
#
# A batch of 1,000 tasks needs a few megabytes. Allocated and freed on every call, malloc hands
# them back to the system and the next call pays a page fault for each of its pages, a fifth of
# its time. So an index keeps its buffers from call to call, and two indexes never share them.
# Only the call that opened them uses them, and batch_match never releases the GIL; a call on
# the same index made meanwhile (a task's sequences may run Python code) gets buffers of its own.

from libc.string cimport memcpy, memmove, memset


cdef struct Buffer:
    char* p
    size_t size
    size_t used  # the most this call asked for


cdef struct Buffers:
    # Buffer fields only: close and __dealloc__ walk them as an array.
    Buffer agent  # per agent slot: the batch's scoring terms
    Buffer pair  # per eligible (task, agent) pair
    Buffer block  # everything the auction needs (solve)
    Buffer tasks  # per task: what it asks (_pairs.pxi)
    Buffer words  # the tasks' terms and exclusions
    Buffer side_agent  # the second thread's agent, pair and candidate scratch (_pairs.pxi)
    Buffer side_pair
    Buffer side_scan


cdef Py_ssize_t N_BUFFERS = sizeof(Buffers) // sizeof(Buffer)


cdef char* grab(Buffer* b, size_t need, bint keep) noexcept nogil:
    # At least need bytes, or NULL if there is no memory; keep: with the old contents (a growing
    # pair list).
    cdef void* q
    b.used = max(b.used, need)
    if need <= b.size:
        return b.p
    if keep:
        q = realloc(b.p, need)
    else:
        free(b.p)
        b.p = NULL
        b.size = 0
        q = malloc(need)
    if q == NULL:
        return NULL
    b.p = <char*>q
    b.size = need
    return b.p


cdef inline char* take(Buffer* b, size_t need, bint keep) except NULL:
    cdef char* p = grab(b, need, keep)
    if p == NULL:
        raise MemoryError()
    return p


cdef void settle(Buffer* b, bint own) noexcept:
    # After a call: free a private buffer, or give back most of one far larger than needed.
    if own or (b.size > (1 << 20) and b.size > 4 * b.used):
        free(b.p)
        b.p = NULL
        b.size = 0
    b.used = 0


@cython.final
cdef class BatchScratch:
    """Buffers batch_match keeps between calls on one AgentIndex."""

    cdef Buffers kept
    cdef bint busy

    cdef Buffers* open(self, Buffers* private) noexcept:
        # The kept buffers, or the zeroed private ones when a call already holds them.
        if self.busy:
            memset(private, 0, sizeof(Buffers))
            return private
        self.busy = True
        return &self.kept

    cdef void close(self, Buffers* bufs) noexcept:
        cdef bint own = bufs != &self.kept
        cdef Py_ssize_t k
        for k in range(N_BUFFERS):
            settle(<Buffer*>bufs + k, own)
        if not own:
            self.busy = False

    def __dealloc__(self):
        cdef Py_ssize_t k
        for k in range(N_BUFFERS):
            free((<Buffer*>&self.kept + k).p)

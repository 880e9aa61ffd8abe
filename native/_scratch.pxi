# Scratch memory of batch_match, owned by each AgentIndex: included by _kernel.pyx.
#
# A batch of 1,000 tasks needs a few megabytes. Allocated and freed on every call, malloc hands
# them back to the system and the next call pays a page fault for each of its pages, a fifth of
# its time. So an index keeps its buffers from call to call, and two indexes never share them.
# Only the call that opened them uses them, and batch_match never releases the GIL; a call on
# the same index made meanwhile (a task's sequences may run Python code) gets buffers of its own.

from libc.string cimport memmove, memset


cdef struct Buffer:
    char* p
    size_t size
    size_t used  # the most this call asked for


cdef struct Buffers:
    Buffer agent  # per agent slot: the batch's scoring terms
    Buffer pair  # per eligible (task, agent) pair
    Buffer block  # everything the auction needs (solve)


cdef char* take(Buffer* b, size_t need, bint keep) except NULL:
    # At least need bytes; keep: with the old contents (a growing pair list).
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
        raise MemoryError()
    b.p = <char*>q
    b.size = need
    return b.p


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
        settle(&bufs.agent, own)
        settle(&bufs.pair, own)
        settle(&bufs.block, own)
        if not own:
            self.busy = False

    def __dealloc__(self):
        free(self.kept.agent.p)
        free(self.kept.pair.p)
        free(self.kept.block.p)

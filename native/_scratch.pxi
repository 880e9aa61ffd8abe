# Scratch memory of batch_match: included by _batch.pxi.
#
# A batch of 1,000 tasks needs a few megabytes. Allocated and freed on every call, malloc hands
# them back to the system and the next call pays a page fault for each of its pages, a fifth of
# its time. So they stay allocated from call to call. Only a call that holds POOL uses it, and
# batch_match never releases the GIL; a call made meanwhile (a task's sequences may run Python
# code) gets buffers of its own.

from libc.string cimport memset

cdef struct Buffer:
    char* p
    size_t size
    size_t used  # the most this call asked for


cdef struct Pool:
    Buffer agent  # per agent slot: the batch's scoring terms
    Buffer pair  # per eligible (task, agent) pair
    Buffer block  # everything the auction needs (solve)
    bint busy


cdef Pool POOL


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


cdef Pool* pool_open(Pool* private) noexcept:
    if POOL.busy:
        memset(private, 0, sizeof(Pool))
        return private
    POOL.busy = True
    return &POOL


cdef void pool_close(Pool* pool, Pool* private) noexcept:
    cdef bint own = pool == private
    settle(&pool.agent, own)
    settle(&pool.pair, own)
    settle(&pool.block, own)
    pool.busy = False

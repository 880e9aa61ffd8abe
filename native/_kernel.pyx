# cython: language_level=3
"""Compiled routing kernel: AgentIndex, TaskBoard and batch_match, equal to native.kernel_py."""

cimport cython
from libc.math cimport INFINITY, isfinite, isnan
from libc.stdint cimport int32_t, int64_t, uint8_t, uint64_t
from libc.stdlib cimport free, malloc, qsort, realloc

import numpy as np

cdef extern from *:
    """
    #if defined(_MSC_VER)
    #include <intrin.h>
    static __inline int rd_ctz64(unsigned __int64 x) {
        unsigned long i;
        _BitScanForward64(&i, x);
        return (int)i;
    }
    #define rd_popcount64(x) ((int)__popcnt64(x))
    #define rd_prefetch(p) _mm_prefetch((const char*)(p), _MM_HINT_T0)
    #define RD_POPCNT_DISPATCH 0
    #else
    static inline int rd_ctz64(unsigned long long x) { return __builtin_ctzll(x); }
    #if defined(__POPCNT__) || !(defined(__x86_64__) || defined(__i386__))
    static inline int rd_popcount64(unsigned long long x) { return __builtin_popcountll(x); }
    #define RD_POPCNT_DISPATCH 0
    #else
    /* x86 without -mpopcnt: the builtin is a call into libgcc for every word a rank reads.
       Inline, the bit-slicing count is a few instructions the compiler can vectorize. */
    static inline int rd_popcount64(unsigned long long x) {
        x = x - ((x >> 1) & 0x5555555555555555ULL);
        x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
        x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
        return (int)((x * 0x0101010101010101ULL) >> 56);
    }
    #define RD_POPCNT_DISPATCH 1
    #endif
    #define rd_prefetch(p) __builtin_prefetch((p))
    #endif

    /* acc = ready & every row, in one pass; returns the bits set. Built twice on x86 compilers
       that do not assume POPCNT: one copy for CPUs with the instruction (nearly all since
       2008), chosen once at run time, and one with the inline count. */
    #define RD_AND_COUNT_BODY(POP)                                                          \
        Py_ssize_t w, n = 0;                                                                \
        int j;                                                                              \
        uint64_t m;                                                                         \
        const uint64_t *r0 = rows[0], *r1 = rows[1], *r2 = rows[2];                         \
        switch (nb) {                                                                       \
        case 0: for (w = 0; w < nw; w++) { m = rb[w]; acc[w] = m; n += POP(m); } break;     \
        case 1: for (w = 0; w < nw; w++) { m = rb[w] & r0[w]; acc[w] = m; n += POP(m); }    \
                break;                                                                      \
        case 2: for (w = 0; w < nw; w++) {                                                  \
                    m = rb[w] & r0[w] & r1[w]; acc[w] = m; n += POP(m); }                   \
                break;                                                                      \
        case 3: for (w = 0; w < nw; w++) {                                                  \
                    m = rb[w] & r0[w] & r1[w] & r2[w]; acc[w] = m; n += POP(m); }           \
                break;                                                                      \
        default:                                                                            \
            for (w = 0; w < nw; w++) {                                                      \
                m = rb[w];                                                                  \
                for (j = 0; j < nb; j++) m &= rows[j][w];                                   \
                acc[w] = m;                                                                 \
                n += POP(m);                                                                \
            }                                                                               \
        }                                                                                   \
        return n;

    #if RD_POPCNT_DISPATCH && (defined(__GNUC__) || defined(__clang__))
    __attribute__((target("popcnt")))
    static Py_ssize_t rd_and_count_hw(uint64_t* acc, const uint64_t* rb,
                                      const uint64_t** rows, int nb,
                                      Py_ssize_t nw) {
        RD_AND_COUNT_BODY(__builtin_popcountll)
    }
    static Py_ssize_t rd_and_count_sw(uint64_t* acc, const uint64_t* rb,
                                      const uint64_t** rows, int nb,
                                      Py_ssize_t nw) {
        RD_AND_COUNT_BODY(rd_popcount64)
    }
    static int rd_hw_popcnt = -1;
    static Py_ssize_t rd_and_count(uint64_t* acc, const uint64_t* rb,
                                   const uint64_t** rows, int nb, Py_ssize_t nw) {
        if (rd_hw_popcnt < 0) {
            __builtin_cpu_init();
            rd_hw_popcnt = __builtin_cpu_supports("popcnt") ? 1 : 0;
        }
        return rd_hw_popcnt ? rd_and_count_hw(acc, rb, rows, nb, nw)
                            : rd_and_count_sw(acc, rb, rows, nb, nw);
    }
    /* For tests: the instruction when the CPU has it and `on`, else the inline count. */
    static int rd_hardware_popcount(int on) {
        rd_hw_popcnt = on && __builtin_cpu_supports("popcnt");
        return rd_hw_popcnt;
    }
    #else
    static Py_ssize_t rd_and_count(uint64_t* acc, const uint64_t* rb,
                                   const uint64_t** rows, int nb, Py_ssize_t nw) {
        RD_AND_COUNT_BODY(rd_popcount64)
    }
    static int rd_hardware_popcount(int on) { return -1; }
    #endif
    """
    int rd_ctz64(uint64_t x) noexcept nogil
    Py_ssize_t rd_and_count(uint64_t* acc, const uint64_t* rb, const uint64_t** rows, int nb,
                            Py_ssize_t nw) noexcept nogil
    int rd_hardware_popcount(int on) noexcept nogil
    void rd_prefetch(const void* p) noexcept nogil

# Same limits as native.agents_py; a task's terms live in fixed stack arrays of MAX_TERMS.
# A top-k of up to STACK_K needs no malloc. H_*: the columns of AgentIndex.hot. PREFETCH: how
# many candidates ahead their rows are fetched, enough to hide a miss to L3 or memory.
cdef enum:
    MAX_LEVEL = 5
    MAX_CHANNELS = 64
    MAX_TERMS = 64
    STACK_K = 32
    H_LEASE = 0
    H_IDLE = 1
    H_LOAD = 2
    H_TOTAL = 3
    H_COLS = 4
    PREFETCH = 8

cdef int64_t MAX_SLOT = 2147483647
cdef int64_t MAX_PRIORITY = 1000000


cdef struct Terms:
    int n
    int64_t base  # sum of the required levels: the agent-independent part of `need`
    int32_t skill[MAX_TERMS]
    int32_t level[MAX_TERMS]


cdef int load_terms(Terms* t, object skills, object levels, int n_skills) except -1:
    cdef Py_ssize_t n = len(skills), i
    cdef long s, lv
    if len(levels) != n:
        raise ValueError("skills and levels differ in length")
    if n > MAX_TERMS:
        raise ValueError(f"at most {MAX_TERMS} skill terms")
    t.n = <int>n
    t.base = 0
    for i in range(n):
        s = skills[i]
        lv = levels[i]
        if s < 0 or s >= n_skills:
            raise ValueError(f"skill {s} out of range")
        if lv < 0 or lv > MAX_LEVEL:
            raise ValueError(f"level {lv} out of range 0..{MAX_LEVEL}")
        t.skill[i] = <int32_t>s
        t.level[i] = <int32_t>lv
        t.base += lv
    return 0


cdef int check_now(double now) except -1:
    if not isfinite(now):
        raise ValueError("now must be finite")
    return 0


cdef int check_priority(object priority) except -1:
    cdef long long p = priority
    if p < 0 or p > MAX_PRIORITY:
        raise ValueError(f"priority must be in 0..{MAX_PRIORITY}")
    return 0


cdef int check_target(double target) except -1:
    if not (isfinite(target) and target > 0.0):
        raise ValueError("target must be finite and > 0")
    return 0


cdef inline double fit_ratio(int64_t need, double total) noexcept nogil:
    cdef double f
    if total <= 0:
        return 1.0
    f = <double>need / total
    return f if f < 1.0 else 1.0


cdef inline double fit_of(const uint8_t* row, double total, int64_t base,
                          const int32_t* ps, const int32_t* pl, int n) noexcept nogil:
    cdef int64_t need = base
    cdef int j
    cdef int32_t lv
    for j in range(n):
        lv = row[ps[j]]
        need += lv if lv < pl[j] else pl[j]
    return fit_ratio(need, total)


cdef inline bint row_holds(const uint8_t* row, const int32_t* sk, const int32_t* lv,
                            int n) noexcept nogil:
    cdef int i
    for i in range(n):
        if row[sk[i]] < lv[i]:
            return False
    return True


cdef inline double idle_of(double idle_since, double now, double half_life) noexcept nogil:
    # Written as `not d > 0` so that it reads like the twin's max(0.0, d) for every input.
    cdef double d = now - idle_since
    if not d > 0.0:
        return 0.0
    return d / (d + half_life)


# -- top-k: a heap whose root is the worst kept candidate --------------------------------------

cdef struct Cand:
    double score
    double since
    int64_t id


cdef inline bint better(const Cand* x, const Cand* y) noexcept nogil:
    if x.score != y.score:
        return x.score > y.score
    if x.since != y.since:
        return x.since < y.since
    return x.id < y.id


cdef int cmp_cand(const void* x, const void* y) noexcept nogil:
    if better(<const Cand*>x, <const Cand*>y):
        return -1
    return 1 if better(<const Cand*>y, <const Cand*>x) else 0


cdef struct TopK:
    Cand* h
    Py_ssize_t n
    Py_ssize_t k


cdef int topk_init(TopK* t, Py_ssize_t k, Cand* stack) except -1:
    t.n = 0
    t.k = k
    t.h = stack
    if k > STACK_K:
        t.h = <Cand*>malloc(k * sizeof(Cand))
        if t.h == NULL:
            raise MemoryError()
    return 0


cdef inline void topk_push(TopK* t, double score, double since, int64_t id) noexcept nogil:
    cdef Cand c
    cdef Py_ssize_t i, p, ch
    c.score = score
    c.since = since
    c.id = id
    if t.n < t.k:
        i = t.n
        t.n += 1
        while i > 0:
            p = (i - 1) >> 1
            if not better(&t.h[p], &c):
                break
            t.h[i] = t.h[p]
            i = p
        t.h[i] = c
    elif better(&c, &t.h[0]):
        i = 0
        while True:
            ch = 2 * i + 1
            if ch >= t.n:
                break
            if ch + 1 < t.n and better(&t.h[ch], &t.h[ch + 1]):
                ch += 1
            if not better(&c, &t.h[ch]):
                break
            t.h[i] = t.h[ch]
            i = ch
        t.h[i] = c


cdef list topk_finish(TopK* t, Cand* stack):
    cdef Py_ssize_t i, j
    cdef Cand c
    if t.n > STACK_K:
        qsort(t.h, t.n, sizeof(Cand), cmp_cand)
    else:  # a few candidates: inline, where qsort's calls through cmp_cand cost more
        for i in range(1, t.n):
            c = t.h[i]
            j = i
            while j > 0 and better(&c, &t.h[j - 1]):
                t.h[j] = t.h[j - 1]
                j -= 1
            t.h[j] = c
    out = [t.h[i].id for i in range(t.n)]
    if t.h != stack:
        free(t.h)
    return out


def hardware_popcount(bint on):
    """Count candidates with the CPU's POPCNT when it has one and `on`, else inline (for tests);
    returns whether the instruction is used now, or None where the build chose at compile time."""
    cdef int got = rd_hardware_popcount(on)
    return None if got < 0 else bool(got)


include "_scratch.pxi"
include "_agents.pxi"
include "_candidates.pxi"
include "_idle_order.pxi"
include "_tasks.pxi"
include "_batch.pxi"

# cython: language_level=3
"""Compiled RESP packer, equal to native.resp_py: Redis commands as the bytes on the wire.

hiredis's packer formats every argument's length with sprintf and makes a bytes object per
command, which routerd then joins: this sizes the whole batch first and writes it once.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.long cimport PyLong_AsLongLongAndOverflow
from cpython.unicode cimport PyUnicode_AsUTF8AndSize
from libc.math cimport fabs
from libc.string cimport memcpy

from orjson import dumps as orjson_dumps

cdef extern from "Python.h":
    char* PyOS_double_to_string(double val, char format_code, int precision, int flags,
                                int* ptype) except NULL
    void PyMem_Free(void* p)
    int Py_DTSF_ADD_DOT_0


cdef inline Py_ssize_t digits(unsigned long long v) noexcept:
    cdef Py_ssize_t d = 1
    while v >= 10:
        v //= 10
        d += 1
    return d


cdef inline unsigned long long magnitude(long long v) noexcept:
    return <unsigned long long>(-(v + 1)) + 1 if v < 0 else <unsigned long long>v


cdef inline char* put_number(char* p, long long v) noexcept:
    cdef unsigned long long m = magnitude(v)
    cdef Py_ssize_t d = digits(m), i
    if v < 0:
        p[0] = 45  # '-'
        p += 1
    for i in range(d - 1, -1, -1):
        p[i] = <char>(48 + m % 10)
        m //= 10
    return p + d


cdef inline char* put_header(char* p, char mark, Py_ssize_t n) noexcept:
    p[0] = mark
    p = put_number(p + 1, n)
    p[0] = 13
    p[1] = 10
    return p + 2


cdef object as_bytes(object arg):
    # The slow cases, as native.resp_py writes them.
    cdef char* s
    cdef double d
    if isinstance(arg, bytes):
        return bytes(arg)
    if isinstance(arg, str):
        return (<str>arg).encode()
    if isinstance(arg, bool):
        raise TypeError("a command argument must be str, int, float or bytes, not bool")
    if isinstance(arg, int):
        return b"%d" % arg
    if isinstance(arg, float):
        d = float(arg)
        if 1e-4 <= fabs(d) < 1e16:
            # Where repr writes no exponent, orjson writes the same shortest digits without
            # dtoa's big numbers (tests/unit/test_resp.py holds it to hiredis's bytes): a
            # timestamp costs 1,400 instructions more than an int this way, 7,100 through repr.
            return orjson_dumps(d)
        s = PyOS_double_to_string(d, b"r", 0, Py_DTSF_ADD_DOT_0, NULL)
        try:
            return <bytes>s
        finally:
            PyMem_Free(s)
    if isinstance(arg, memoryview):
        return arg.tobytes()
    raise TypeError(f"a command argument must be str, int, float or bytes, not {type(arg)}")


def pack_commands(commands):
    """Every command as a RESP array of bulk strings, in one bytes object."""
    cdef list parts = []  # per argument: a str, bytes or int to write, in order
    cdef list counts = []
    cdef Py_ssize_t total = 0, size, k = 0, n
    cdef long long v
    cdef int overflow
    cdef const char* data
    cdef char* p
    for cmd in commands:
        n = len(cmd)
        counts.append(n)
        total += 3 + digits(n)
        for arg in cmd:
            kind = type(arg)
            if kind is str:
                PyUnicode_AsUTF8AndSize(arg, &size)
            elif kind is bytes:
                size = PyBytes_GET_SIZE(arg)
            elif kind is int:
                v = PyLong_AsLongLongAndOverflow(arg, &overflow)
                if overflow:
                    arg = as_bytes(arg)
                    size = PyBytes_GET_SIZE(arg)
                else:
                    size = digits(magnitude(v)) + (v < 0)
            else:
                arg = as_bytes(arg)
                size = PyBytes_GET_SIZE(arg)
            parts.append(arg)
            total += 5 + digits(size) + size
    out = PyBytes_FromStringAndSize(NULL, total)
    p = PyBytes_AS_STRING(out)
    for n in counts:
        p = put_header(p, 42, n)  # '*'
        for _ in range(n):
            arg = parts[k]
            k += 1
            kind = type(arg)
            if kind is int:
                v = PyLong_AsLongLongAndOverflow(arg, &overflow)
                size = digits(magnitude(v)) + (v < 0)
                p = put_header(p, 36, size)  # '$'
                p = put_number(p, v)
            else:
                if kind is str:
                    data = PyUnicode_AsUTF8AndSize(arg, &size)
                else:
                    data = PyBytes_AS_STRING(arg)
                    size = PyBytes_GET_SIZE(arg)
                p = put_header(p, 36, size)
                memcpy(p, data, size)
                p += size
            p[0] = 13
            p[1] = 10
            p += 2
    return out

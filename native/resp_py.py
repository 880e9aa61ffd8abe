"""Pure-Python twin of the RESP packer: Redis commands as the bytes sent on the wire."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

Arg = str | int | float | bytes | memoryview


def pack_commands(commands: Iterable[Sequence[Arg]]) -> bytes:
    """Every command as a RESP array of bulk strings, in one bytes object.

    Arguments as hiredis's packer writes them: str as UTF-8, int in decimal, float as its
    repr, bytes and memoryviews as they are; bool and other types raise TypeError.
    """
    out: list[bytes] = []
    for cmd in commands:
        out.append(b"*%d\r\n" % len(cmd))
        for arg in cmd:
            data = _bytes(arg)
            out += (b"$%d\r\n" % len(data), data, b"\r\n")
    return b"".join(out)


def _bytes(arg: Arg) -> bytes:
    if isinstance(arg, bytes):
        return arg
    if isinstance(arg, str):
        return arg.encode()
    if isinstance(arg, bool):
        raise TypeError("a command argument must be str, int, float or bytes, not bool")
    if isinstance(arg, int):
        return b"%d" % arg
    if isinstance(arg, float):
        return float.__repr__(arg).encode()
    if isinstance(arg, memoryview):
        return arg.tobytes()
    raise TypeError(f"a command argument must be str, int, float or bytes, not {type(arg)}")

"""The RESP packer, compiled and twin: the bytes hiredis's packer writes, for every type."""

from __future__ import annotations

import math
import random
import struct
from collections.abc import Callable
from types import ModuleType
from typing import cast

import hiredis
import pytest

from native import resp_py
from tests.unit.kernel_kit import compiled

COMPILED = compiled("_resp")
# hiredis's stub types the command as a tuple of one item; it takes any number.
HIREDIS_PACK = cast(Callable[[tuple[object, ...]], bytes], hiredis.pack_command)
IMPLS = [
    pytest.param(resp_py, id="py-resp"),
    pytest.param(
        COMPILED, id="c-resp", marks=pytest.mark.skipif(COMPILED is None, reason="not built")
    ),
]


EDGES = [2**63 - 1, -(2**63), 2**63, -(2**63) - 1, 10**30, -(10**30), 0]  # long long and past
FLOATS = [0.0, -0.0, 1e300, 5e-324, float("inf"), float("-inf"), 1795440249.369636]
ARGS: list[Callable[[random.Random], str | int | float | bytes]] = [
    lambda r: "".join(r.choice("aé{}:\r\n 0x€𝄞") for _ in range(r.randrange(0, 40))),
    lambda r: bytes(r.randrange(256) for _ in range(r.randrange(0, 300))),
    lambda r: r.randint(-(10**6), 10**6),
    lambda r: r.choice(EDGES),
    lambda r: r.uniform(-1e10, 1e10),
    lambda r: r.choice(FLOATS),
    lambda r: "x" * r.randrange(0, 70_000),  # lengths of five digits
]


def _arg(rng: random.Random) -> str | int | float | bytes:
    return rng.choice(ARGS)(rng)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("seed", range(40))
def test_commands_pack_as_hiredis_packs_them(impl: ModuleType, seed: int) -> None:
    rng = random.Random(seed)
    commands = [
        tuple(_arg(rng) for _ in range(rng.randrange(1, 25))) for _ in range(rng.randrange(1, 9))
    ]
    want = b"".join(HIREDIS_PACK(c) for c in commands)
    assert impl.pack_commands(commands) == want


def _any_float(rng: random.Random) -> float:
    """Any double but NaN, every exponent as likely as any other."""
    found = struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]
    return 0.0 if math.isnan(found) else float(found)


# Either side of where repr starts writing an exponent (1e-4 and 1e16), and the doubles next
# to those bounds.
BOUNDS = [x for b in (1e-4, 1e16) for x in (math.nextafter(b, 0), b, math.nextafter(b, math.inf))]


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("seed", range(5))
def test_floats_of_every_magnitude_pack_as_hiredis_packs_them(impl: ModuleType, seed: int) -> None:
    rng = random.Random(seed)
    floats = (
        [_any_float(rng) for _ in range(20_000)]
        + [rng.choice((1, -1)) * 10 ** rng.uniform(-4, 16) for _ in range(20_000)]
        + [float(rng.randint(-(10**15), 10**15)) for _ in range(2_000)]
        + BOUNDS
        + [-x for x in BOUNDS]
    )
    assert impl.pack_commands([tuple(floats)]) == HIREDIS_PACK(tuple(floats))


@pytest.mark.parametrize("impl", IMPLS)
def test_no_commands_pack_to_nothing(impl: ModuleType) -> None:
    assert impl.pack_commands([]) == b""


@pytest.mark.parametrize("impl", IMPLS)
def test_lists_and_memoryviews_pack_like_tuples_and_bytes(impl: ModuleType) -> None:
    got = impl.pack_commands([["SET", "k", memoryview(b"v\x00")]])
    assert got == HIREDIS_PACK(("SET", "k", b"v\x00"))


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("bad", [True, None, [1], bytearray(b"x")], ids=repr)
def test_other_argument_types_are_refused(impl: ModuleType, bad: object) -> None:
    with pytest.raises(TypeError):
        impl.pack_commands([("SET", "k", bad)])


@pytest.mark.parametrize("impl", IMPLS)
def test_a_string_that_is_not_unicode_text_is_refused(impl: ModuleType) -> None:
    with pytest.raises(UnicodeEncodeError):
        impl.pack_commands([("SET", "k", "\ud800")])

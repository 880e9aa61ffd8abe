"""Types of the compiled RESP packer; the same API as native.resp_py."""

from collections.abc import Iterable, Sequence

def pack_commands(
    commands: Iterable[Sequence[str | int | float | bytes | memoryview]],
) -> bytes: ...

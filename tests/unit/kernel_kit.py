"""Shared set-up for the kernel tests: both implementations and a small three-channel center."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

import pytest

from native import kernel_py


def compiled(name: str) -> ModuleType | None:
    """The compiled module `native.<name>`, or None when it is not built."""
    try:
        return importlib.import_module(f"native.{name}")
    except ImportError:
        return None


COMPILED = compiled("_kernel")
NOT_BUILT = "native._kernel is not built (python setup.py build_ext --inplace)"
SKIP_C = pytest.mark.skipif(COMPILED is None, reason=NOT_BUILT)
# Test ids as aiohttp names its twins.
IMPLS = [
    pytest.param(kernel_py, id="py-kernel"),
    pytest.param(COMPILED, id="c-kernel", marks=SKIP_C),
]

VOICE, CHAT, EMAIL = 0, 1, 2
COSTS = (100, 25, 20)
BLOCKS = (0b110, 0b001, 0)  # a call blocks chats and e-mails; a chat blocks calls
INTERRUPTIBLE_BY = (0, 0, 0b001)  # an e-mail may be interrupted by a call
WEIGHTS = (0.4, 0.2, 0.4, 1.0, 0.5)
W_FIT, W_LOAD, W_IDLE, W_SLA, W_PRIO = WEIGHTS
HALF_LIFE = 60.0
S = 4
CAPS = (1, 4, 5)


def index(k: ModuleType, size_hint: int = 8) -> Any:
    return k.AgentIndex(S, COSTS, BLOCKS, INTERRUPTIBLE_BY, WEIGHTS, HALF_LIFE, size_hint)


def agent(ix: Any, a: int, levels: list[int], *, groups: int = 1, idle_since: float = 0.0) -> None:
    """A routable agent with capacity 100 and the default caps."""
    ix.set_agent(a, levels, groups, 100, CAPS)
    ix.set_presence(a, True, 1000.0, idle_since)

"""Routing kernel chooser: the compiled kernel, or its pure-Python twin when forced or missing."""

from __future__ import annotations

import os
import warnings
from typing import TYPE_CHECKING

# Type checkers see the twin: both expose the same API, and the twin is always there.
if TYPE_CHECKING:
    from native.kernel_py import AgentIndex, TaskBoard, batch_match

    KERNEL_IMPL: str
elif os.environ.get("ROUTERD_PURE_PYTHON", "") not in ("", "0"):
    from native.kernel_py import AgentIndex, TaskBoard, batch_match

    KERNEL_IMPL = "python"
else:
    try:
        from native._kernel import AgentIndex, TaskBoard, batch_match
    except ImportError:
        from native.kernel_py import AgentIndex, TaskBoard, batch_match

        warnings.warn(
            "native._kernel is not built; routing runs on the slow pure-Python twin",
            RuntimeWarning,
            stacklevel=2,
        )
        KERNEL_IMPL = "python"
    else:
        KERNEL_IMPL = "compiled"

__all__ = ["KERNEL_IMPL", "AgentIndex", "TaskBoard", "batch_match"]

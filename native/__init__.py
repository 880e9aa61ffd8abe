"""Kernel chooser: the compiled routing kernel and RESP packer, or their pure-Python twins when
forced or missing."""

from __future__ import annotations

import os
import warnings
from typing import TYPE_CHECKING

# Type checkers see the twins: both expose the same API, and the twins are always there.
if TYPE_CHECKING:
    from native.kernel_py import AgentIndex, TaskBoard, batch_match
    from native.resp_py import pack_commands

    KERNEL_IMPL: str
elif os.environ.get("ROUTERD_PURE_PYTHON", "") not in ("", "0"):
    from native.kernel_py import AgentIndex, TaskBoard, batch_match
    from native.resp_py import pack_commands

    KERNEL_IMPL = "python"
else:
    try:
        from native._kernel import AgentIndex, TaskBoard, batch_match
        from native._resp import pack_commands
    except ImportError:
        from native.kernel_py import AgentIndex, TaskBoard, batch_match
        from native.resp_py import pack_commands

        warnings.warn(
            "native._kernel or native._resp is not built; routing runs on the slow pure-Python "
            "twins",
            RuntimeWarning,
            stacklevel=2,
        )
        KERNEL_IMPL = "python"
    else:
        KERNEL_IMPL = "compiled"

__all__ = ["KERNEL_IMPL", "AgentIndex", "TaskBoard", "batch_match", "pack_commands"]

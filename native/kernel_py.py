"""Pure-Python twin of the routing kernel: the reference the compiled one equals bit for bit."""

from native.agents_py import AgentIndex
from native.batch_py import batch_match
from native.tasks_py import TaskBoard

__all__ = ["AgentIndex", "TaskBoard", "batch_match"]

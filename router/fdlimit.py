"""The open-files limit: every agent desktop holds a socket, so routerd asks for all it may."""

from __future__ import annotations

import resource
import sys

# A hard limit of "unlimited" is not a number the kernel takes for the soft one.
CEILING = 1 << 20


def open_files() -> int:
    """The soft limit on open files now; sys.maxsize where there is none."""
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return sys.maxsize if soft == resource.RLIM_INFINITY else soft


def raise_open_files() -> tuple[int, int]:
    """Raise the soft open-files limit to the hard one: (before, after), equal if unchanged."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = CEILING if hard == resource.RLIM_INFINITY else min(hard, CEILING)
    if soft == resource.RLIM_INFINITY or soft >= want:
        return (soft, soft)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    except (ValueError, OSError):  # a hard limit the kernel will not grant after all
        return (soft, soft)
    return (soft, want)

"""The open-files limit: routerd raises its soft limit to the hard one, or leaves it be."""

from __future__ import annotations

import resource
import subprocess
import sys

import pytest

from router.fdlimit import CEILING, open_files, raise_open_files

PROBE = """
import resource
from router.fdlimit import raise_open_files
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, ({low}, hard))
print(*raise_open_files(), resource.getrlimit(resource.RLIMIT_NOFILE)[0])
"""


def run_probe(low: int) -> list[int]:
    # A child process: the test run's own limit stays as it was.
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(low=low)], capture_output=True, text=True, check=True
    )
    return [int(x) for x in out.stdout.split()]


def hard_limit() -> int:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    return CEILING if hard == resource.RLIM_INFINITY else min(hard, CEILING)


def test_a_low_soft_limit_is_raised_to_the_hard_one() -> None:
    assert run_probe(64) == [64, hard_limit(), hard_limit()]


def test_a_soft_limit_already_at_the_hard_one_is_left_as_it_is() -> None:
    top = hard_limit()
    assert run_probe(top) == [top, top, top]


def test_an_unlimited_soft_limit_reads_as_the_largest_size(monkeypatch: pytest.MonkeyPatch) -> None:
    unlimited = (resource.RLIM_INFINITY, resource.RLIM_INFINITY)
    monkeypatch.setattr(resource, "getrlimit", lambda _which: unlimited)
    assert open_files() == sys.maxsize


def test_an_unlimited_soft_limit_is_left_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    unlimited = (resource.RLIM_INFINITY, resource.RLIM_INFINITY)
    asked: list[tuple[int, int]] = []
    monkeypatch.setattr(resource, "getrlimit", lambda _which: unlimited)
    monkeypatch.setattr(resource, "setrlimit", lambda _which, limits: asked.append(limits))
    raise_open_files()
    assert asked == []

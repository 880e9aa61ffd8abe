"""Fixtures shared by the unit tests."""

from __future__ import annotations

from types import ModuleType

import pytest

from tests.unit.kernel_kit import IMPLS


@pytest.fixture(params=IMPLS)
def k(request: pytest.FixtureRequest) -> ModuleType:
    """Each kernel implementation in turn: the pure-Python twin and the compiled one."""
    mod: ModuleType = request.param
    return mod

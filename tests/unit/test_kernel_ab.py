"""bench.kernel_ab: two builds of the kernel side by side in one process."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bench import kernel_ab

KERNEL = pytest.importorskip("native._kernel", reason="native._kernel is not built")


def test_a_build_against_itself_agrees_on_every_measure() -> None:
    rows = kernel_ab.compare(kernel_ab.HERE, sizes=(1_000,), rounds=2)
    assert [(r["measure"], r["same_results"]) for r in rows] == [
        ("rank 1,000 us", True), ("agent->task us", True), ("batch us", True),
    ]  # fmt: skip


def test_a_tree_without_a_build_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="no built kernel"):
        kernel_ab.load_kernel(tmp_path)


def test_a_tree_built_under_several_pythons_loads_this_ones_build(tmp_path: Path) -> None:
    (tmp_path / "native").mkdir()
    built = Path(KERNEL.__file__)
    (tmp_path / "native" / built.name).symlink_to(built)
    others = [m for m in range(10, 20) if m != sys.version_info.minor]
    for minor in others:  # other interpreters' builds, which this one cannot load
        (tmp_path / "native" / f"_kernel.cpython-3{minor}-x86_64-linux-gnu.so").write_bytes(b"")
    assert hasattr(kernel_ab.load_kernel(tmp_path), "hardware_popcount")

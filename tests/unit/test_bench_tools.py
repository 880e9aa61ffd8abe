"""bench.decline, bench.echo_rates, bench.figures and bench.instructions: the small measuring
tools."""

from __future__ import annotations

import dataclasses
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from bench import decline, echo_rates, figures, instructions

Test = TypeVar("Test", bound=Callable[..., Any])


def test_decline_times_every_decline_of_every_task() -> None:
    times = decline.decline_times(decline.center(40), tasks=3)
    assert len(times) == 3 * (decline.EXPERTS + 1) and min(times) > 0


LINE = r"\s*([\d,]+)/s  server [\d.]+ core: +[\d.]+ us a message"


def test_echo_rates_prints_the_cpu_of_each_rate(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(echo_rates, "SECONDS", 0.3)
    assert echo_rates.main(["1000", "4000"]) == 0
    lines = capsys.readouterr().out.splitlines()
    found = [re.fullmatch(LINE, x) for x in lines]
    assert [m[1] if m else x for m, x in zip(found, lines, strict=True)] == ["1,000", "4,000"]


def test_figures_times_both_states_of_the_center(capsys: pytest.CaptureFixture[str]) -> None:
    assert figures.main(["--waiting", "300", "--agents", "40"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [x.split(":")[0] for x in lines] == [
        "300 waiting, 40 agents offline", "260 waiting, 40 agents available, 40 offers out",
    ]  # fmt: skip


def needs_valgrind(test: Test) -> Test:
    """A test that runs routerd or the bare server under valgrind for a while."""
    skip = pytest.mark.skipif(shutil.which("valgrind") is None, reason="needs valgrind")
    marked: Test = pytest.mark.slow(skip(test))
    return marked


def counted(capsys: pytest.CaptureFixture[str], pattern: str) -> list[int] | None:
    """The numbers of the line bench.instructions printed, if it reads as `pattern`."""
    found = re.fullmatch(pattern, capsys.readouterr().out.strip())
    return None if found is None else [int(g.replace(",", "")) for g in found.groups()]


def test_instructions_reads_the_count_of_a_callgrind_dump(tmp_path: Path) -> None:
    dump = tmp_path / "callgrind.out.1"
    dump.write_text("version: 1\ncreator: callgrind-3.19.0\nevents: Ir\nsummary: 870445885\n")
    assert instructions.summary(dump) == 870_445_885


@needs_valgrind
def test_instructions_counts_the_bare_servers_contacts(capsys: pytest.CaptureFixture[str]) -> None:
    assert instructions.main(["--ceiling", "--contacts", "200"]) == 0
    found = counted(
        capsys,
        r"the bare aiohttp server: ([\d,]+) instructions a contact \(200 contacts answered 2xx\)",
    )
    assert found is not None and found[0] > 10_000


@needs_valgrind
def test_instructions_counts_whole_lifecycles(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(instructions, "LIFECYCLE_WARMUP", 2.0)
    monkeypatch.setattr(instructions, "LIFECYCLE_SECONDS", 3.0)
    assert instructions.main(["--lifecycle"]) == 0
    found = counted(capsys, r"routerd: ([\d,]+) instructions a lifecycle \(([\d,]+) completed\)")
    assert found is not None and found[1] > 0


@needs_valgrind
def test_instructions_counts_contacts_posted_alone(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(instructions, "ALONE", dataclasses.replace(instructions.ALONE, agents=150))
    monkeypatch.setattr(instructions, "ALONE_WARMUP", 20)
    assert instructions.main(["--alone", "--contacts", "100"]) == 0
    found = counted(
        capsys,
        r"routerd: ([\d,]+) instructions a contact \(100 contacts answered 2xx, one at a time\)",
    )
    assert found is not None and found[0] > 10_000


def test_instructions_alone_refuses_more_contacts_than_desks_left_free() -> None:
    with pytest.raises(SystemExit):
        instructions.main(["--alone", "--contacts", str(instructions.ALONE.agents)])

"""bench.decline, bench.echo_rates and bench.figures: the small measuring tools."""

from __future__ import annotations

import re

import pytest

from bench import decline, echo_rates, figures


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

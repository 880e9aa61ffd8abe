"""The `routerd` command line: check-config and schema."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from router.cli import main
from router.config import json_schema

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "config" / "routing.example.yaml"

BAD = """\
version: 1
agents:
  capacity: -5
channels:
  chat: {cost: 25, max_per_agent: 4}
queues:
  support:
    channels: [chat]
    max_wait: 600
"""


@pytest.fixture
def bad_file(tmp_path: Path) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD, encoding="utf-8")
    return path


def test_check_config_accepts_the_example() -> None:
    assert main(["check-config", str(EXAMPLE)]) == 0


def test_check_config_prints_a_summary(capsys: pytest.CaptureFixture[str]) -> None:
    main(["check-config", str(EXAMPLE)])
    assert capsys.readouterr().out.splitlines() == [
        f"{EXAMPLE}: OK",
        "  tenant:   acme",
        "  channels: 4 (voice, chat, messenger, email)",
        "  skills:   8 (en, ru, es, billing, tech_support, sales, retention, vip)",
        "  groups:   3 (tier1, tier2, specialists)",
        "  queues:   7 (general, billing, tech_support, sales, retention, vip, email)",
        "  rules:    9",
    ]


def test_check_config_refuses_a_bad_file(bad_file: Path) -> None:
    assert main(["check-config", str(bad_file)]) == 1


def test_check_config_prints_every_problem_to_stderr(
    bad_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["check-config", str(bad_file)])
    assert capsys.readouterr().err.splitlines() == [
        f"{bad_file}:3: agents.capacity: must be at least 1, got -5",
        f"{bad_file}:9: queues.support.max_wait: malformed duration 600: "
        "write digits with a unit, largest first: 500ms, 20s, 5m, 2h, 1h30m",
        f"{bad_file}: 2 problems",
    ]


def test_check_config_prints_nothing_to_stdout_for_a_bad_file(
    bad_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["check-config", str(bad_file)])
    assert capsys.readouterr().out == ""


def test_check_config_exits_2_for_a_missing_file(tmp_path: Path) -> None:
    assert main(["check-config", str(tmp_path / "absent.yaml")]) == 2


def test_check_config_names_the_missing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "absent.yaml"
    main(["check-config", str(missing)])
    assert capsys.readouterr().err == f"routerd: {missing}: no such file\n"


def test_schema_prints_the_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    main(["schema"])
    assert json.loads(capsys.readouterr().out) == json_schema()


def test_schema_is_indented(capsys: pytest.CaptureFixture[str]) -> None:
    main(["schema"])
    assert capsys.readouterr().out.startswith('{\n  "')


def test_no_subcommand_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as caught:
        main([])
    assert caught.value.code == 2


def test_python_dash_m_router_checks_a_config() -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-m", "router", "check-config", str(EXAMPLE)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout.splitlines()[0]) == (0, f"{EXAMPLE}: OK")


def test_simulate_prints_engine_and_erlang_figures(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["simulate", str(EXAMPLE), "--contacts", "400", "--agents", "5"])
    assert code == 0 and "Erlang C" in capsys.readouterr().out


def test_simulate_refuses_an_unknown_queue(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", str(EXAMPLE), "--queue", "nope"]) == 1

"""The `routerd` command line: one entry per subcommand in a small dispatch table."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import uvloop

from router import __version__
from router.config import ConfigError, json_schema, load_config
from router.config.model import RoutingConfig
from router.errors import InvalidInput, RouterdError
from router.log import configure as configure_logging
from router.redis_server import EmbeddedRedis
from router.settings import settings_from
from router.simulate_cli import add_simulate_args, simulation_report

EXIT_OK = 0
EXIT_INVALID = 1  # the routing file was read and refused
EXIT_UNREADABLE = 2  # no such file (argparse also exits 2 on a usage error)
DEFAULT_CONFIG = "config/routing.example.yaml"


@dataclass(frozen=True, slots=True)
class Command:
    """A subcommand: its help line, how it declares its arguments, and what it runs."""

    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def _add_file(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="routing file (YAML)")


def _no_arguments(parser: argparse.ArgumentParser) -> None:
    """For subcommands that take none."""


def _load(path: str) -> RoutingConfig | int:
    """The routing file, or the exit status after reporting why it cannot be used."""
    try:
        return load_config(path)
    except FileNotFoundError:
        print(f"routerd: {path}: no such file", file=sys.stderr)
        return EXIT_UNREADABLE
    except OSError as exc:
        print(f"routerd: {path}: cannot read: {exc.strerror}", file=sys.stderr)
        return EXIT_UNREADABLE
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        count = len(exc.problems)
        print(f"{path}: {count} problem{'s' * (count != 1)}", file=sys.stderr)
        return EXIT_INVALID


def check_config(args: argparse.Namespace) -> int:
    """Validate a routing file: a summary on stdout, or every problem on stderr."""
    config = _load(args.file)
    if isinstance(config, int):
        return config
    print(_summary(config))
    return EXIT_OK


def _summary(config: RoutingConfig) -> str:
    return "\n".join(
        [
            f"{config.source}: OK",
            f"  tenant:   {config.tenant}",
            f"  channels: {_listing(config.channels)}",
            f"  skills:   {_listing(config.skills)}",
            f"  groups:   {_listing(config.groups)}",
            f"  queues:   {_listing(config.queues)}",
            f"  rules:    {len(config.classification.rules)}",
        ]
    )


def _listing(names: Iterable[str]) -> str:
    listed = list(names)
    return f"{len(listed)} ({', '.join(listed)})" if listed else "0"


def print_schema(args: argparse.Namespace) -> int:
    """Print the routing file's JSON Schema."""
    print(json.dumps(json_schema(), indent=2, ensure_ascii=False))
    return EXIT_OK


def _add_run(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-c", "--config", default=DEFAULT_CONFIG, help=f"routing file (default: {DEFAULT_CONFIG})"
    )


def run_daemon(args: argparse.Namespace) -> int:
    """Run the daemon until SIGTERM; settings from the file, overridden by ROUTERD_*."""
    config = _load(args.config)
    if isinstance(config, int):
        return config
    configure_logging(os.environ)
    try:
        settings = settings_from(config, os.environ)
        embedded = None
        if settings.redis_url is None:
            # Spawned before the daemon's modules are imported: Redis loads its AOF meanwhile.
            embedded = EmbeddedRedis(settings.data_dir, settings.appendfsync)
            embedded.spawn()
        from router.daemon import serve  # noqa: PLC0415  (aiohttp, numpy, the kernel)

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(serve(config, settings, embedded))
    except (RouterdError, OSError) as exc:
        print(f"routerd: {exc}", file=sys.stderr)
        return EXIT_INVALID
    return EXIT_OK


def simulate(args: argparse.Namespace) -> int:
    """Run synthetic traffic through the engine and compare with Erlang C."""
    config = _load(args.file)
    if isinstance(config, int):
        return config
    try:
        report = simulation_report(config, args)
    except InvalidInput as exc:
        print(f"routerd: {exc}", file=sys.stderr)
        return EXIT_INVALID
    print(report)
    return EXIT_OK


COMMANDS: dict[str, Command] = {
    "run": Command("run the routing daemon (HTTP/WebSocket API)", _add_run, run_daemon),
    "check-config": Command("validate a routing file", _add_file, check_config),
    "schema": Command("print the routing file's JSON Schema", _no_arguments, print_schema),
    "simulate": Command(
        "what-if: run synthetic traffic through the routing engine", add_simulate_args, simulate
    ),
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one subparser per entry of COMMANDS."""
    parser = argparse.ArgumentParser(
        prog="routerd", description="Omnichannel contact-center routing daemon (ACD)."
    )
    parser.add_argument("--version", action="version", version=f"routerd {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, command in COMMANDS.items():
        sub = subparsers.add_parser(name, help=command.help, description=command.help)
        command.add_arguments(sub)
        sub.set_defaults(run=command.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run `routerd` with `argv` (default: sys.argv[1:]); returns the exit status."""
    args = build_parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    return run(args)

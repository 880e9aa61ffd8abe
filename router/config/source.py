"""Reads routing-file YAML into plain data plus the line of every path in it."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from router.errors import ConfigError, ConfigProblem

Path = tuple[str | int, ...]  # mapping keys are str, sequence indices int

_MERGE_TAG = "tag:yaml.org,2002:merge"


def format_path(path: Path) -> str:
    """`queues.billing.escalation[0].after` for a path; "" for the root."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


@dataclass(frozen=True, slots=True)
class Finding:
    """A problem found at `path`, before it has a line; `at` is the node to point at, if deeper."""

    path: Path
    message: str
    at: Path | None = None


@dataclass(frozen=True, slots=True)
class LineMap:
    """The 1-based line of each path of a document (a mapping value: its key's line)."""

    source: str
    lines: dict[Path, int] = field(default_factory=dict)

    def line(self, path: Path) -> int:
        """The line of `path`, or of its nearest ancestor present in the file."""
        while path not in self.lines and path:
            path = path[:-1]
        return self.lines.get(path, 1)

    def problem(self, finding: Finding) -> ConfigProblem:
        """The ConfigProblem of a finding, with its file and line."""
        at = finding.path if finding.at is None else finding.at
        return ConfigProblem(self.source, self.line(at), format_path(finding.path), finding.message)


@dataclass(frozen=True, slots=True)
class Document:
    """A parsed file: its data, where each path is, and the problems YAML itself hides."""

    data: Any
    lines: LineMap
    problems: list[ConfigProblem]


class _NameKeyLoader(yaml.SafeLoader):
    """SafeLoader reading every mapping key as its text: `on:`, `no:`, `1:` are names here."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        self.flatten_mapping(node)  # applies `<<` merge keys, as SafeLoader does
        mapping: dict[Hashable, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise yaml.constructor.ConstructorError(
                    None, None, "a mapping key must be a plain name", key_node.start_mark
                )
            mapping[key_node.value] = self.construct_object(value_node, deep=deep)
        return mapping


def read_document(text: str, source: str) -> Document:
    """Parse YAML `text`; ConfigError (one problem, with PyYAML's line) if it is not valid YAML."""
    try:
        loader = _NameKeyLoader(text)  # checks the characters already
    except yaml.YAMLError as exc:
        raise ConfigError([_syntax_problem(exc, text, source)]) from exc
    try:
        node = loader.get_single_node()
        if node is None:
            return Document(None, LineMap(source, {(): 1}), [])
        walker = _Walker(LineMap(source, {(): node.start_mark.line + 1}))
        walker.walk(node, ())
        return Document(loader.construct_document(node), walker.lines, walker.problems)
    except yaml.YAMLError as exc:
        raise ConfigError([_syntax_problem(exc, text, source)]) from exc
    finally:
        loader.dispose()


def _syntax_problem(exc: yaml.YAMLError, text: str, source: str) -> ConfigProblem:
    line = 1
    message = str(exc)
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        message = exc.problem or message
        if exc.context:
            message = f"{message} ({exc.context})"
    elif isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, int(exc.position)) + 1
        message = f"{exc.reason} (character #x{int(exc.character):04x})"
    return ConfigProblem(source, line, "", f"YAML syntax error: {message}")


class _Walker:
    """Walks the composed node tree: records lines, reports duplicate keys and alias loops."""

    def __init__(self, lines: LineMap) -> None:
        self.lines = lines
        self.problems: list[ConfigProblem] = []
        self._open: set[int] = set()  # ids of the nodes on the current branch

    def walk(self, node: Node, path: Path) -> None:
        """Record the lines of everything below `node`, which is at `path`."""
        if id(node) in self._open:
            # An alias inside its own anchor: the data would be infinite.
            raise yaml.composer.ComposerError(
                None, None, "an alias refers to a node that contains it", node.start_mark
            )
        self._open.add(id(node))
        if isinstance(node, MappingNode):
            self._walk_mapping(node, path)
        elif isinstance(node, SequenceNode):
            for index, item in enumerate(node.value):
                self.lines.lines[(*path, index)] = item.start_mark.line + 1
                self.walk(item, (*path, index))
        self._open.discard(id(node))

    def _walk_mapping(self, node: MappingNode, path: Path) -> None:
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG or not isinstance(key_node, ScalarNode):
                continue  # merged keys point at their anchor's lines; bad keys fail in construction
            key, line = key_node.value, key_node.start_mark.line + 1
            if key in seen:
                self.problems.append(
                    ConfigProblem(
                        self.lines.source,
                        line,
                        format_path(path),
                        f"duplicate key {key!r} (first on line {seen[key]})",
                    )
                )
            seen.setdefault(key, line)
            self.lines.lines[(*path, key)] = line
            self.walk(value_node, (*path, key))

"""Loads a routing file: YAML, then structs (or the JSON Schema's every problem), checks and
compilation."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import msgspec

from router.config.checks import check_routing_file
from router.config.compile import compile_config
from router.config.messages import describe
from router.config.model import RoutingConfig
from router.config.schema import RoutingFile, routing_file_schema
from router.config.source import Document, Finding, read_document
from router.errors import ConfigError, ConfigProblem


def load_config(path: str | Path) -> RoutingConfig:
    """Load and validate the routing file at `path`.

    Raises ConfigError listing every problem (file, line, what is wrong), and OSError
    (FileNotFoundError, ...) when the file cannot be read.
    """
    raw = Path(path).read_bytes()
    source = str(path)
    try:
        text = raw.decode("utf-8-sig")  # -sig: editors on Windows prepend a BOM
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        problem = ConfigProblem(source, line, "", "the file is not UTF-8 text")
        raise ConfigError([problem]) from exc
    return load_config_text(text, source)


def load_config_text(text: str, source: str) -> RoutingConfig:
    """Load and validate a routing file's `text`; `source` names it in problems."""
    document = read_document(text, source)
    # The structs enforce what the schema says (it is derived from them), and converting
    # takes a fraction of what validating does, with jsonschema's import a tenth of a start.
    # The schema is asked only for a file that fails, to name every problem, not the first.
    spec = _converted(document)
    if document.problems or not isinstance(spec, RoutingFile):
        problems = document.problems + _structure_problems(document)
        # No problem from the schema in a file the structs refuse: they drifted apart. Still a
        # problem of the file rather than a crash.
        raise ConfigError(_sorted(problems or [document.lines.problem(Finding((), str(spec)))]))
    findings = check_routing_file(spec)
    if findings:
        raise ConfigError(_sorted([document.lines.problem(f) for f in findings]))
    return compile_config(spec, source)


def json_schema() -> dict[str, Any]:
    """The JSON Schema (Draft 2020-12) of routing files, for editors and `routerd schema`."""
    return routing_file_schema()


@functools.cache
def _validator() -> Any:
    import jsonschema  # noqa: PLC0415 - only for a file with problems

    draft = jsonschema.Draft202012Validator
    schema = routing_file_schema()
    # YAML `cost: 25.0` is a float; JSON Schema would call it an integer, msgspec would not.
    integers = draft.TYPE_CHECKER.redefine(
        "integer", lambda _, value: isinstance(value, int) and not isinstance(value, bool)
    )
    strict = jsonschema.validators.extend(draft, type_checker=integers)
    return strict(schema)


def _structure_problems(document: Document) -> list[ConfigProblem]:
    if document.data is None:
        return [ConfigProblem(document.lines.source, 1, "", "the file is empty")]
    findings = describe(_validator().iter_errors(document.data))
    return [document.lines.problem(finding) for finding in findings]


def _converted(document: Document) -> RoutingFile | str | None:
    """The file as structs; else why it does not fit them (None: it is empty)."""
    if document.data is None:
        return None
    try:
        return msgspec.convert(document.data, RoutingFile)
    except msgspec.ValidationError as exc:
        return str(exc)


def _sorted(problems: list[ConfigProblem]) -> list[ConfigProblem]:
    return sorted(problems, key=lambda problem: problem.line)

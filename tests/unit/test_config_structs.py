"""A routing file is converted to structs before the schema is asked, so the structs must
refuse whatever the schema refuses: checked on many broken copies of the example."""

from __future__ import annotations

import copy
import random
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from router.config import json_schema, load_config_text
from router.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "routing.example.yaml"
UNKNOWN = object()  # add an unknown key beside the value's
# For a value of each type, values of other types a lenient conversion might still take.
WRONG: dict[type, list[Any]] = {
    bool: ["yes", 1],
    int: ["5", 1.5, 5.0, True, -1],
    float: ["0.5", True],
    str: [5, ["x"], None],
    list: [{}, "x", [{"zz": 1}]],
    dict: [[], "x", UNKNOWN],
}


def _mutations(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any]]:
    found = [(path, wrong) for wrong in WRONG.get(type(data), [])] if path else []
    if isinstance(data, (dict, list)):
        for key, value in data.items() if isinstance(data, dict) else enumerate(data):
            found += _mutations(value, (*path, key))
    return found


def _broken(data: Any, path: tuple[Any, ...], wrong: Any) -> Any:
    broken = copy.deepcopy(data)
    parent = broken
    for step in path[:-1]:
        parent = parent[step]
    if wrong is UNKNOWN:
        parent[path[-1]]["zz_unknown"] = 1
    else:
        parent[path[-1]] = wrong
    return broken


@pytest.mark.parametrize("seed", range(3))
def test_a_file_the_schema_refuses_is_refused(seed: int) -> None:
    schema = jsonschema.Draft202012Validator(json_schema())
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    mutations = random.Random(seed).sample(_mutations(data), 60)
    refused_by_schema = 0
    for path, wrong in mutations:
        broken = _broken(data, path, wrong)
        if schema.is_valid(broken):
            continue
        refused_by_schema += 1
        with pytest.raises(ConfigError):
            load_config_text(yaml.safe_dump(broken), "broken.yaml")
    assert refused_by_schema > 30  # the mutations do break files

"""The routing file: loading, validation and its JSON Schema."""

from router.config.loader import json_schema, load_config, load_config_text
from router.errors import ConfigError

__all__ = ["ConfigError", "json_schema", "load_config", "load_config_text"]

"""Daemon settings come from the routing file and give way to ROUTERD_* variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from router.config import load_config
from router.config.model import RoutingConfig
from router.errors import InvalidInput
from router.settings import settings_from

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "routing.example.yaml"


@pytest.fixture(scope="module")
def config() -> RoutingConfig:
    return load_config(EXAMPLE)


def test_without_environment_the_file_decides(config: RoutingConfig) -> None:
    s = settings_from(config, {})
    assert (f"{s.host}:{s.port}", s.redis_url) == (config.server.listen, config.server.redis_url)


def test_environment_overrides_the_listen_address(config: RoutingConfig) -> None:
    s = settings_from(config, {"ROUTERD_LISTEN": "0.0.0.0:9000"})
    assert (s.host, s.port) == ("0.0.0.0", 9000)


def test_ipv6_listen_address_is_understood(config: RoutingConfig) -> None:
    assert settings_from(config, {"ROUTERD_LISTEN": "[::1]:8081"}).host == "::1"


def test_environment_sets_the_redis_url(config: RoutingConfig) -> None:
    url = "redis://10.0.0.5:6379/0"
    assert settings_from(config, {"ROUTERD_REDIS_URL": url}).redis_url == url


def test_environment_sets_data_dir_and_api_keys(config: RoutingConfig) -> None:
    s = settings_from(config, {"ROUTERD_DATA_DIR": "/srv/rd", "ROUTERD_API_KEYS": "/etc/k.yaml"})
    assert (s.data_dir, s.api_keys) == (Path("/srv/rd"), Path("/etc/k.yaml"))


def test_bad_listen_address_names_the_variable(config: RoutingConfig) -> None:
    with pytest.raises(InvalidInput) as caught:
        settings_from(config, {"ROUTERD_LISTEN": "nowhere"})
    assert caught.value.field == "ROUTERD_LISTEN"


def test_unknown_fsync_policy_is_refused(config: RoutingConfig) -> None:
    with pytest.raises(InvalidInput):
        settings_from(config, {"ROUTERD_APPENDFSYNC": "sometimes"})

"""Finding the caller of a request from its API key."""

from __future__ import annotations

import pytest

from router.auth import OPEN, Auth, Principal
from router.errors import Unauthorized

MANY = {f"agent-key-{i:05d}-secret": Principal("agent", f"a{i}") for i in range(10_000)}


def test_each_of_many_keys_finds_its_own_caller() -> None:
    auth = Auth(MANY)
    found = {auth.principal(f"Bearer {key}", None) for key in MANY}
    assert found == set(MANY.values())


def test_a_key_that_differs_from_a_known_one_in_its_last_character_is_refused() -> None:
    with pytest.raises(Unauthorized, match="unknown API key"):
        Auth(MANY).principal("Bearer agent-key-00042-secreT", None)


def test_a_key_may_come_in_the_query_instead_of_a_header() -> None:
    assert Auth(MANY).principal(None, "agent-key-00007-secret") == Principal("agent", "a7")


def test_the_header_wins_over_the_query() -> None:
    auth = Auth(MANY)
    assert auth.principal("Bearer agent-key-00001-secret", "agent-key-00002-secret").agent == "a1"


def test_a_header_of_another_scheme_is_refused() -> None:
    with pytest.raises(Unauthorized, match="required"):
        Auth(MANY).principal("Basic agent-key-00001-secret", None)


def test_without_a_key_file_every_caller_is_admin() -> None:
    auth = Auth(None)
    assert (auth.enabled, auth.principal(None, None)) == (False, OPEN)


def test_a_key_that_is_not_utf8_is_refused() -> None:
    with pytest.raises(Unauthorized, match="unknown API key"):
        Auth(MANY).principal("Bearer agent-key-\udcff", None)  # how aiohttp decodes byte 0xff

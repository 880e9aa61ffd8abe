"""Redis keys carry the tenant as a Cluster hash tag."""

from __future__ import annotations

from router.keys import Keys


def test_every_key_of_a_tenant_shares_its_hash_tag() -> None:
    keys = Keys("acme")
    built = [keys.interaction("i1"), keys.agent("a1"), keys.queue("q"), keys.offer("o"),
             keys.idempotency("k"), keys.history("c"), keys.events, keys.live, keys.agents,
             keys.lease]  # fmt: skip
    assert {k.split("}")[0] for k in built} == {"rd:{acme"}


def test_tenants_do_not_share_keys() -> None:
    assert Keys("a").interaction("x") != Keys("b").interaction("x")

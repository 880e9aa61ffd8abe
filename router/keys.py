"""Every Redis key routerd uses, in one place; a tenant hash tag keeps a tenant on one slot."""

from __future__ import annotations

from dataclasses import dataclass, field

PREFIX = "rd"


@dataclass(frozen=True, slots=True)
class Keys:
    """Key builders for one tenant: `rd:{tenant}:...`."""

    tenant: str
    base: str = field(init=False)  # the tenant's prefix, hash tag included

    def __post_init__(self) -> None:
        # Made once: every transition builds a few keys, and the f-string was most of each.
        object.__setattr__(self, "base", f"{PREFIX}:{{{self.tenant}}}")

    def interaction(self, interaction_id: str) -> str:
        """Hash: one interaction's fields and state."""
        return f"{self.base}:ix:{interaction_id}"

    def agent(self, agent_id: str) -> str:
        """Hash: one agent's profile, status and presence."""
        return f"{self.base}:ag:{agent_id}"

    def queue(self, queue: str) -> str:
        """Sorted set: waiting interaction ids by queue position."""
        return f"{self.base}:q:{queue}"

    def offer(self, offer_id: str) -> str:
        """Hash: an open offer (task, agent, deadline, fencing token)."""
        return f"{self.base}:of:{offer_id}"

    def idempotency(self, key: str) -> str:
        """String with a TTL: the interaction an Idempotency-Key or provider id created."""
        return f"{self.base}:idem:{key}"

    def agent_events(self, agent_id: str) -> str:
        """Stream: what an agent's desktop was sent, by the agent's own sequence number."""
        return f"{self.base}:ag:{agent_id}:events"

    def history(self, customer: str) -> str:
        """Stream: a customer's messages across channels."""
        return f"{self.base}:hist:{customer}"

    @property
    def events(self) -> str:
        """Stream: every transition, in order; its ids are the event sequence."""
        return f"{self.base}:events"

    @property
    def live(self) -> str:
        """Set: ids of interactions not yet in a final state (what a restart rebuilds)."""
        return f"{self.base}:live"

    @property
    def agents(self) -> str:
        """Set: ids of known agents."""
        return f"{self.base}:agents"

    @property
    def sessions(self) -> str:
        """Sorted set: customer sessions with an owner, by when the stickiness ends."""
        return f"{self.base}:sessions"

    @property
    def session_owners(self) -> str:
        """Hash: the agent that owns each customer session in `sessions`."""
        return f"{self.base}:session_owner"

    @property
    def positions(self) -> str:
        """Counter: the next queue position; a requeued interaction keeps its old one."""
        return f"{self.base}:pos"

    @property
    def lease(self) -> str:
        """String with a TTL: which routerd process owns this tenant."""
        return f"{self.base}:owner"

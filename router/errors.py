"""The routerd exception hierarchy; only the API layer maps these to HTTP statuses."""

from __future__ import annotations

from dataclasses import dataclass


class RouterdError(Exception):
    """Root of every error routerd raises on purpose."""


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One problem in a routing file: where it is and what is wrong."""

    file: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{self.file}:{self.line}: {where}{self.message}"


class ConfigError(RouterdError, ValueError):
    """A routing file was refused; carries every problem found, each with file and line."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))

    @property
    def file(self) -> str:
        return self.problems[0].file if self.problems else ""

    @property
    def line(self) -> int:
        return self.problems[0].line if self.problems else 0


class NotFound(RouterdError, LookupError):
    """The named interaction, agent, offer or queue does not exist."""


class Conflict(RouterdError):
    """The transition does not apply to the current state (e.g. accepting an expired offer)."""


class ReloadRefused(Conflict):
    """A valid routing file that routerd will not switch to while it runs (another tenant, or
    live interactions it would stop routing); the file in force stays."""


class Forbidden(RouterdError, PermissionError):
    """The caller may not do this."""


class ClassificationError(RouterdError, ValueError):
    """An interaction could not be classified into a queue that serves its channel."""


class AdapterError(RouterdError):
    """A channel provider's payload or API call failed."""

    def __init__(self, channel: str, message: str) -> None:
        self.channel = channel
        super().__init__(f"{channel}: {message}")


class InvalidInput(RouterdError, ValueError):
    """A request names something that does not exist or has a bad value; `field` says which."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


class IdempotencyKeyReused(InvalidInput):
    """An Idempotency-Key sent again with another request than the one it first came with."""

    def __init__(self) -> None:
        super().__init__("Idempotency-Key", "already used for a different request")


class Unauthorized(RouterdError):
    """The request carries no API key, or one routerd does not know."""


class Unavailable(RouterdError):
    """Redis cannot be reached: nothing was written; try again after `retry_after` seconds."""

    def __init__(self, message: str, retry_after: int = 1) -> None:
        self.retry_after = retry_after
        super().__init__(message)

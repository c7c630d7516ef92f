"""Errors of a Glue or ECS start, alike for both services: try again later, or never."""

from __future__ import annotations


class RetryLater(RuntimeError):
    """A transient refusal (throttling, capacity, concurrent-run limit): nothing was started."""


class StartRejected(RuntimeError):
    """A refusal for good (job or task definition missing, bad arguments): the dump fails."""

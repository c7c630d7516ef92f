"""Errors the handlers treat alike: try the same input again later."""

from __future__ import annotations


class RetryLater(RuntimeError):
    """A transient refusal (throttling, capacity, concurrent-run limit): nothing was started."""

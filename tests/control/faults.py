"""Fault injection at AWS side effects: a boto3 client wrapper whose calls can commit and then
lose their response (the SDK retries the same request), or kill the handler right before or
right after the call took effect.

A rule names an operation and a predicate on its keyword arguments; it fires ``times`` times.
Everything else passes through to the real (moto or dynalite) client.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class HandlerKilled(BaseException):
    """The Lambda died here (timeout, OOM, a deploy): nothing after this point runs.

    A BaseException, so the control plane's ``except Exception`` never swallows it."""


class Fault(StrEnum):
    LOSE_RESPONSE = "lose-response"  # commits, the response is lost, the SDK sends it again
    KILL_BEFORE = "kill-before"  # the handler dies before the call leaves
    KILL_AFTER = "kill-after"  # the call takes effect, then the handler dies
    CALL_AFTER = "call-after"  # the call takes effect, then ``then`` runs (an interleaving)


@dataclass
class Rule:
    operation: str
    fault: Fault
    when: Callable[[dict[str, Any]], bool] = lambda _kwargs: True
    times: int = 1
    fired: int = 0
    then: Callable[[], None] = lambda: None

    def matches(self, operation: str, kwargs: dict[str, Any]) -> bool:
        return self.operation == operation and self.fired < self.times and self.when(kwargs)


@dataclass
class FaultyClient:
    """Wraps one boto3 client; ``calls`` records every (operation, kwargs) that went through."""

    real: Any
    rules: list[Rule] = field(default_factory=list)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def arm(self, operation: str, fault: Fault, **options: Any) -> Rule:
        rule = Rule(operation, fault, **options)
        self.rules.append(rule)
        return rule

    def __getattr__(self, name: str) -> Any:
        target = getattr(self.real, name)
        if (
            name.startswith("_")
            or name in ("meta", "exceptions", "get_paginator")
            or not callable(target)
        ):
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            rule = next((r for r in self.rules if r.matches(name, kwargs)), None)
            self.calls.append((name, kwargs))
            if rule is None:
                return target(*args, **kwargs)
            rule.fired += 1
            if rule.fault is Fault.KILL_BEFORE:
                raise HandlerKilled(f"killed before {name}")
            result = target(*args, **kwargs)
            if rule.fault is Fault.KILL_AFTER:
                raise HandlerKilled(f"killed after {name}")
            if rule.fault is Fault.CALL_AFTER:
                rule.then()
                return result
            return target(*args, **kwargs)  # the SDK's retry of a request that committed

        return call


def item_status(kwargs: dict[str, Any]) -> str | None:
    """The status a put_item (or a transaction's first Put) writes, if any."""
    item = kwargs.get("Item")
    if item is None and kwargs.get("TransactItems"):
        item = kwargs["TransactItems"][0].get("Put", {}).get("Item")
    status = (item or {}).get("status", {})
    return status.get("S") if isinstance(status, dict) else None


def writes_status(status: str) -> Callable[[dict[str, Any]], bool]:
    return lambda kwargs: item_status(kwargs) == status

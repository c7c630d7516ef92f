"""What the gate found: one row per check and table, the schema changes, and the verdict."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

Scalar = str | int | float | None


class Verdict(StrEnum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True, slots=True)
class Check:
    """One check of one table: what was measured (``value``) against what was allowed
    (``limit``), the verdict, and a message naming the table, both numbers and the setting.

    ``reason`` is the short cause of a failure or warning (``stale content``, ...), used in
    the dump's REJECTED reason; ``setting`` is the configuration key that set the limit.
    """

    check: str
    table: str
    value: Scalar
    limit: Scalar
    verdict: Verdict
    message: str
    reason: str | None = None
    setting: str | None = None

    @classmethod
    def make(
        cls,
        verdict: Verdict,
        check: str,
        table: str,
        message: str,
        *,
        value: Scalar = None,
        limit: Scalar = None,
        reason: str | None = None,
        setting: str | None = None,
    ) -> Check:
        return cls(check, table, value, limit, verdict, message, reason, setting)

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "table": self.table,
            "value": self.value,
            "limit": self.limit,
            "verdict": self.verdict.value,
            "reason": self.reason,
            "setting": self.setting,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class ColumnChange:
    """A difference between the previous load's schema and the shadow's.

    ``change`` is ``added``/``removed``/``retyped`` for a column, ``table_added`` or
    ``table_removed`` for a whole table (``column`` is then None).
    """

    table: str
    column: str | None
    change: str
    before: str | None
    after: str | None
    read_by_dbt: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "column": self.column,
            "change": self.change,
            "before": self.before,
            "after": self.after,
            "read_by_dbt": self.read_by_dbt,
        }


@dataclass(frozen=True, slots=True)
class GateResult:
    """The gate's outcome for one dump: it passes unless a check failed."""

    dump_date: str
    shadow_schema: str
    previous_schema: str | None
    checks: tuple[Check, ...]
    drift: tuple[ColumnChange, ...] = ()
    config_source: str = ""
    seconds: float = 0.0
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if c.verdict is Verdict.FAIL]

    @property
    def warnings(self) -> list[Check]:
        return [c for c in self.checks if c.verdict is Verdict.WARN]

    @property
    def verdict(self) -> Verdict:
        if self.failures:
            return Verdict.FAIL
        return Verdict.WARN if self.warnings else Verdict.PASS

    def summary(self, limit: int = 5) -> str:
        """The failed checks, short (``stale content (rooms); rows shrank (tenants)``)."""
        parts = [f"{c.reason or c.check} ({c.table})" for c in self.failures]
        if len(parts) > limit:
            parts = [*parts[:limit], f"{len(parts) - limit} more"]
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """The load report's ``quality`` section (contract 6 of the lead's CONTRACTS.md)."""
        return {
            "verdict": self.verdict.value,
            "passed": self.passed,
            "failed": len(self.failures),
            "warnings": len(self.warnings),
            "summary": self.summary(),
            "dump_date": self.dump_date,
            "shadow_schema": self.shadow_schema,
            "previous_schema": self.previous_schema,
            "config": self.config_source,
            "seconds": round(self.seconds, 3),
            "checks": [c.to_dict() for c in self.checks],
            "drift": [d.to_dict() for d in self.drift],
            "notes": list(self.notes),
        }

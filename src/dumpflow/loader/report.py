"""What a load did, per table and in total, as a JSON-able record."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class TableStats:
    """Rows, statement bytes and server time spent on one table's rows."""

    rows: int = 0
    bytes: int = 0
    seconds: float = 0.0
    statements: int = 0

    def add(self, other: TableStats) -> None:
        self.rows += other.rows
        self.bytes += other.bytes
        self.seconds += other.seconds
        self.statements += other.statements


@dataclass(frozen=True)
class SkippedObject:
    """Something in the dump that was not run: a view, trigger, routine, event, or a table
    left out by the ``tables`` filter."""

    kind: str
    name: str
    statement: int
    offset: int


def note_object(skipped: list[SkippedObject], item: SkippedObject) -> None:
    """Add a not-run object once: dumps define each view twice (a stand-in, then the view)."""
    if not any(o.kind == item.kind and o.name == item.name for o in skipped):
        skipped.append(item)


@dataclass
class LoadReport:
    """The outcome of one successful load."""

    source: str
    dump: str
    schema: str
    previous_schema: str
    sha256: str
    gzip: bool
    stored_bytes: int
    sql_bytes: int
    statements: int
    seconds: float
    workers: int
    tables: dict[str, TableStats] = field(default_factory=dict)
    skipped: list[SkippedObject] = field(default_factory=list)
    statement_kinds: dict[str, int] = field(default_factory=dict)
    replaced_tables: list[str] = field(default_factory=list)
    #: The quality gate's section (docs/QUALITY_GATE.md), when a gate ran before the publish.
    quality: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def total_rows(self) -> int:
        return sum(stats.rows for stats in self.tables.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "dump": self.dump,
            "schema": self.schema,
            "previous_schema": self.previous_schema,
            "sha256": self.sha256,
            "gzip": self.gzip,
            "seconds": round(self.seconds, 3),
            "workers": self.workers,
            "tables": {
                name: {**asdict(stats), "seconds": round(stats.seconds, 3)}
                for name, stats in sorted(self.tables.items())
            },
            "totals": {
                "tables": len(self.tables),
                "rows": self.total_rows,
                "statements": self.statements,
                "stored_bytes": self.stored_bytes,
                "sql_bytes": self.sql_bytes,
                "row_bytes": sum(stats.bytes for stats in self.tables.values()),
            },
            "statement_kinds": dict(sorted(self.statement_kinds.items())),
            "skipped": [asdict(item) for item in self.skipped],
            "replaced_tables": sorted(self.replaced_tables),
            "warnings": list(self.warnings),
            **({"quality": self.quality} if self.quality is not None else {}),
        }


@dataclass(frozen=True)
class Refusal:
    """A statement the policy refuses, with its position."""

    kind: str
    reason: str
    statement: int
    offset: int
    excerpt: str


@dataclass
class ValidationReport:
    """Parse and policy check of a dump without a database."""

    source: str
    dump: str
    sha256: str
    gzip: bool
    stored_bytes: int
    sql_bytes: int
    statements: int
    statement_kinds: dict[str, int] = field(default_factory=dict)
    tables: dict[str, int] = field(default_factory=dict)
    skipped: list[SkippedObject] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return not self.refused and self.error is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "dump": self.dump,
            "ok": self.ok,
            "sha256": self.sha256,
            "gzip": self.gzip,
            "stored_bytes": self.stored_bytes,
            "sql_bytes": self.sql_bytes,
            "statements": self.statements,
            "statement_kinds": dict(sorted(self.statement_kinds.items())),
            "insert_statements_by_table": dict(sorted(self.tables.items())),
            "skipped": [asdict(item) for item in self.skipped],
            "refused": [asdict(item) for item in self.refused],
            "error": self.error,
        }

"""Check a dump without a database: does it split, and would the policy accept it?"""

from __future__ import annotations

from collections import Counter
from typing import Any

from dumpflow.loader.load import excerpt
from dumpflow.loader.policy import Action, decide
from dumpflow.loader.report import Refusal, SkippedObject, ValidationReport, note_object
from dumpflow.loader.source import DumpStream, SourceError, dump_label_for
from dumpflow.loader.splitter import SplitError, split_statements
from dumpflow.loader.sqltext import ServerFlavor


def validate_dump(
    source: str,
    *,
    flavor: ServerFlavor | None = None,
    dump_label: str | None = None,
    s3_client: Any | None = None,
) -> ValidationReport:
    """Counts per statement kind and table, and every refused statement with its position.

    Version comments are resolved as ``flavor`` would (default: MariaDB 10.11).
    """
    server = flavor or ServerFlavor()
    stream = DumpStream(source, s3_client=s3_client)
    kinds: Counter[str] = Counter()
    inserts: Counter[str] = Counter()
    skipped: list[SkippedObject] = []
    refused: list[Refusal] = []
    statements = 0
    error = None
    try:
        for stmt in split_statements(stream):
            statements += 1
            decision = decide(stmt, server)
            kinds[decision.kind] += 1
            if decision.action is Action.ROWS and decision.table is not None:
                inserts[decision.table] += 1
            elif decision.action is Action.OBJECT:
                name = decision.object_name or "?"
                note_object(skipped, SkippedObject(decision.kind, name, stmt.number, stmt.offset))
            elif decision.action is Action.REFUSE:
                refused.append(
                    Refusal(
                        decision.kind, decision.reason, stmt.number, stmt.offset, excerpt(stmt.sql)
                    )
                )
    except SourceError as exc:
        error = f"read: {exc}"
    except SplitError as exc:
        error = f"parse at statement {exc.number} (byte offset {exc.offset}): {exc}"
    return ValidationReport(
        source=source,
        dump=dump_label or dump_label_for(source),
        sha256=stream.sha256,
        gzip=stream.gzip,
        stored_bytes=stream.raw_bytes,
        sql_bytes=stream.sql_bytes,
        statements=statements,
        statement_kinds=dict(kinds),
        tables=dict(inserts),
        skipped=skipped,
        refused=refused,
        error=error,
    )

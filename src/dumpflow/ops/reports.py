"""The per-date reports the Glue job and the dbt task leave in the bucket."""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

ReportKind = Literal["load", "dbt"]


def report_key(kind: ReportKind, dump_date: dt.date) -> str:
    return f"reports/{kind}/{dump_date.isoformat()}.json"


def read_report(
    s3: S3Client, bucket: str, kind: ReportKind, dump_date: dt.date
) -> dict[str, Any] | None:
    """The report as written, or None when that stage has not reported for the date yet."""
    try:
        obj = s3.get_object(Bucket=bucket, Key=report_key(kind, dump_date))
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None
        raise
    payload = json.loads(obj["Body"].read())
    return payload if isinstance(payload, dict) else {"report": payload}


def rows_loaded(report: dict[str, Any] | None) -> int | None:
    """Total rows the load wrote: the report's ``totals.rows``, else the sum over its tables
    (a failed load's report has neither)."""
    if not report:
        return None
    totals = report.get("totals")
    if isinstance(totals, dict) and isinstance(totals.get("rows"), int):
        return int(totals["rows"])
    tables = report.get("tables")
    if isinstance(tables, dict):
        tables = list(tables.values())
    if isinstance(tables, list):
        counts = [t.get("rows") for t in tables if isinstance(t, dict)]
        numbers = [c for c in counts if isinstance(c, int)]
        if numbers and len(numbers) == len(counts):
            return sum(numbers)
    return None


Fact = tuple[str, str]
_OK_NODE_STATUSES = frozenset({"success", "pass", "skipped"})


def _scalars(report: dict[str, Any], names: tuple[str, ...]) -> list[Fact]:
    return [(name, str(report[name])) for name in names if report.get(name) not in (None, "")]


def load_facts(report: dict[str, Any]) -> list[Fact]:
    """The lines of a load report worth showing: outcome, target, size, rows per table."""
    facts = _scalars(report, ("status", "schema", "seconds", "workers", "glue_run_id"))
    error = report.get("error")
    if isinstance(error, dict):
        facts.append(("error", str(error.get("message") or error.get("cause") or error)))
    elif error:
        facts.append(("error", str(error)))
    total = rows_loaded(report)
    if total is not None:
        facts.append(("rows", f"{total:,}"))
    tables = report.get("tables")
    if isinstance(tables, dict) and tables:
        per_table = (
            f"{name}={stats['rows']:,}" if isinstance(stats.get("rows"), int) else name
            for name, stats in tables.items()
            if isinstance(stats, dict)
        )
        facts.append(("tables", ", ".join(per_table)))
    skipped = report.get("skipped")
    if isinstance(skipped, list) and skipped:
        facts.append(("skipped objects", str(len(skipped))))
    return facts


def dbt_facts(report: dict[str, Any]) -> list[Fact]:
    """The lines of a dbt run summary worth showing: outcome, counts, the nodes that failed."""
    facts = _scalars(report, ("status", "backfill", "source_schema", "seconds", "error"))
    gate = report.get("load_quality")
    if isinstance(gate, dict):
        verdict = gate.get("verdict") or gate.get("error") or gate.get("note") or "?"
        text = f"{verdict}: {gate['summary']}" if gate.get("summary") else str(verdict)
        if gate.get("accepted_by"):
            text += f" (accepted by {gate['accepted_by']})"
        facts.append(("load quality gate", text))
    counts = report.get("counts")
    if isinstance(counts, dict) and counts:
        facts.append(("nodes", ", ".join(f"{k}={v}" for k, v in sorted(counts.items()))))
    for step in report.get("steps") or []:
        for node in step.get("nodes") or [] if isinstance(step, dict) else []:
            if isinstance(node, dict) and node.get("status") not in _OK_NODE_STATUSES:
                message = node.get("message") or ""
                facts.append((str(node.get("status")), f"{node.get('unique_id')}: {message}"))
    return facts


def quality_facts(report: dict[str, Any]) -> list[Fact]:
    """The dbt report's ``data_quality`` section (contract 5): one line per check that found
    something in the source data, with the offending keys it sampled."""
    section = report.get("data_quality")
    if not isinstance(section, dict):
        return []
    checks = [c for c in section.get("checks") or [] if isinstance(c, dict)]
    warnings = section.get("warnings")
    count = warnings if isinstance(warnings, int) else len(checks)
    facts: list[Fact] = [("warnings", str(count))]
    for check in checks:
        where = ".".join(str(part) for part in (check.get("model"), check.get("column")) if part)
        failures = check.get("failures")
        rows = f"{failures:,} row(s)" if isinstance(failures, int) else "? rows"
        samples = [str(k) for k in check.get("sample_keys") or []]
        keys = f"; keys {', '.join(samples)}" if samples else ""
        label = str(check.get("kind") or "check")
        facts.append((label, f"{where or check.get('name', '?')}: {rows}{keys}"))
    return facts


GATE_COLUMNS = ("check", "table", "value", "limit", "verdict")


def gate_section(report: dict[str, Any] | None) -> dict[str, Any] | None:
    """The load report's ``quality`` section (the quality gate's table), if it has one."""
    section = (report or {}).get("quality")
    return section if isinstance(section, dict) else None


def gate_rows(report: dict[str, Any] | None) -> list[list[str]]:
    """The gate's table as the status shows it: check, table, value, limit, verdict; the
    failed checks first, then warnings, then passes (the report is untrusted: odd rows are
    shown as text, never trusted for their type)."""
    section = gate_section(report)
    checks = [c for c in (section or {}).get("checks") or [] if isinstance(c, dict)]
    order = {"fail": 0, "warn": 1}
    checks.sort(key=lambda c: order.get(str(c.get("verdict")), 2))
    return [["-" if c.get(k) is None else str(c.get(k)) for k in GATE_COLUMNS] for c in checks]


def gate_facts(report: dict[str, Any] | None) -> list[Fact]:
    """The gate's outcome in a few lines: verdict, summary, who accepted a failure, drift."""
    section = gate_section(report)
    if section is None:
        return []
    facts = _scalars(section, ("verdict", "summary", "accepted_by", "previous_schema", "seconds"))
    for change in section.get("drift") or []:
        if isinstance(change, dict):
            what = ".".join(str(p) for p in (change.get("table"), change.get("column")) if p)
            kinds = f"{change.get('before') or '-'} -> {change.get('after') or '-'}"
            facts.append((f"drift {change.get('change')}", f"{what} ({kinds})"))
    for note in section.get("notes") or []:
        facts.append(("note", str(note)))
    return facts

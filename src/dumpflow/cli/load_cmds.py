"""``dumpflow load-dump`` and ``dumpflow validate-dump``: the loader at the command line."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from dumpflow.db import Dsn, DsnError
from dumpflow.loader import LoadError, LoadReport, ValidationReport, load_dump, validate_dump
from dumpflow.loader.quality import GateResult, Verdict
from dumpflow.loader.quality.validate import GateRequest, gate_dump

# names and messages come from dumps: printed verbatim, never read as rich markup or emoji
out = Console(markup=False, emoji=False, highlight=False)
err = Console(stderr=True, markup=False, emoji=False, highlight=False)


def _names(raw: str | None) -> list[str]:
    return [part.strip() for part in (raw or "").split(",") if part.strip()]


def _show_load(report: LoadReport) -> None:
    table = Table(title=f"{report.dump} -> {report.schema}")
    for column in ("table", "rows", "MB", "seconds"):
        table.add_column(column, justify="left" if column == "table" else "right")
    for name, stats in sorted(report.tables.items()):
        table.add_row(name, f"{stats.rows:,}", f"{stats.bytes / 1e6:.1f}", f"{stats.seconds:.1f}")
    out.print(table)
    out.print(
        f"{len(report.tables)} tables, {report.total_rows:,} rows, "
        f"{report.sql_bytes / 1e6:.1f} MB SQL in {report.seconds:.1f} s "
        f"over {report.workers} connections; sha256 {report.sha256}"
    )
    for item in report.skipped:
        out.print(f"skipped {item.kind} {item.name} (statement {item.statement})")
    if report.replaced_tables:
        out.print(f"{len(report.replaced_tables)} replaced tables kept in {report.previous_schema}")
    for warning in report.warnings:
        err.print(f"warning: {warning}", soft_wrap=True)


def _show_validation(report: ValidationReport) -> None:
    table = Table(title=f"{report.dump}: {report.statements} statements")
    table.add_column("statement kind")
    table.add_column("count", justify="right")
    for kind, count in sorted(report.statement_kinds.items()):
        table.add_row(kind, f"{count:,}")
    out.print(table)
    for name, count in sorted(report.tables.items()):
        out.print(f"INSERT into {name}: {count:,} statements")
    for item in report.skipped:
        out.print(f"not run: {item.kind} {item.name} (statement {item.statement})")
    for refusal in report.refused:
        err.print(
            f"refused: statement {refusal.statement} (byte offset {refusal.offset}) "
            f"{refusal.kind}: {refusal.reason}: {refusal.excerpt}",
            markup=False,
            soft_wrap=True,
            highlight=False,
        )
    if report.error:
        err.print(f"error: {report.error}", markup=False, highlight=False, soft_wrap=True)


def load_dump_command(
    source: Annotated[str, typer.Argument(help="Dump file path or s3://bucket/key (.gz ok).")],
    schema: Annotated[str, typer.Option("--schema", help="Target schema.")],
    dsn: Annotated[
        str | None,
        typer.Option(help="mysql://user:pass@host:port (default $DUMPFLOW_DSN, else local)."),
    ] = None,
    tables: Annotated[
        str | None, typer.Option(help="Load only these tables (comma separated).")
    ] = None,
    require_tables: Annotated[
        str | None, typer.Option(help="Fail unless these tables exist and hold rows.")
    ] = None,
    expected_sha256: Annotated[
        str | None, typer.Option(help="Fail before publishing unless the digest matches.")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help="Parallel connections (default: 2..4 by CPUs).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON report.")] = False,
) -> None:
    """Load a dump into SCHEMA atomically (shadow schema, one RENAME TABLE)."""
    logging.basicConfig(level=logging.WARNING)
    try:
        target = Dsn.from_env(dsn)
    except DsnError as exc:
        setting = "--dsn" if dsn is not None else "DUMPFLOW_DSN"
        err.print(f"error: {setting}: {exc}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2) from exc
    try:
        report = load_dump(
            source,
            schema,
            target,
            tables=_names(tables) or None,
            required_tables=_names(require_tables),
            expected_sha256=expected_sha256,
            workers=workers,
        )
    except (LoadError, ValueError) as exc:
        err.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from exc
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        _show_load(report)


def validate_dump_command(
    source: Annotated[str, typer.Argument(help="Dump file path or s3://bucket/key (.gz ok).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON report.")] = False,
    against_previous: Annotated[
        bool,
        typer.Option(
            "--against-previous",
            help="Also run the quality gate: load the dump into a private schema on the "
            "server and judge it against the published load (--schema); nothing is published.",
        ),
    ] = False,
    schema: Annotated[
        str, typer.Option("--schema", help="The published load to judge against.")
    ] = "staging",
    dsn: Annotated[
        str | None,
        typer.Option(help="Server for the gate (default $DUMPFLOW_DSN, else local); runs it."),
    ] = None,
    manifest: Annotated[
        Path | None,
        typer.Option(help="The dump's manifest (default: gghouse_YYYYMMDD.json beside it)."),
    ] = None,
    dump_date: Annotated[
        str | None, typer.Option("--date", help="Business date (default: from the name).")
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="Gate settings (default: the shipped quality_gate.yml).")
    ] = None,
) -> None:
    """Parse and policy-check a dump without a database; non-zero if it would be refused.
    With --against-previous (or --dsn) the quality gate judges its content too."""
    if against_previous or dsn is not None:
        _gate_only(
            source,
            GateRequest(schema if against_previous else None, dsn, manifest, dump_date, config),
            as_json=as_json,
        )
        return
    report = validate_dump(source)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        _show_validation(report)
    if not report.ok:
        raise typer.Exit(1)


def _gate_only(source: str, request: GateRequest, *, as_json: bool) -> None:
    logging.basicConfig(level=logging.WARNING)
    try:
        result = gate_dump(source, request)
    except (LoadError, ValueError) as exc:
        err.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2) from exc
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        _show_gate(source, result)
    if not result.passed:
        raise typer.Exit(1)


def _show_gate(source: str, result: GateResult) -> None:
    table = Table(title=f"quality gate: {source} ({result.dump_date})")
    for column in ("check", "table", "value", "limit", "verdict"):
        table.add_column(column, overflow="fold")
    order = {Verdict.FAIL: 0, Verdict.WARN: 1}
    for check in sorted(result.checks, key=lambda c: order.get(c.verdict, 2)):
        cells = [check.check, check.table, check.value, check.limit, check.verdict.value]
        table.add_row(*("-" if cell is None else escape(str(cell)) for cell in cells))
    out.print(table)
    against = result.previous_schema or "no previous load"
    out.print(f"verdict {result.verdict.value} against {against}", markup=False)
    for check in result.failures + result.warnings:
        out.print(f"{check.verdict.value}: {check.message}", markup=False, soft_wrap=True)
    for note in result.notes:
        out.print(f"note: {note}", markup=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add ``load-dump`` and ``validate-dump`` to the app."""
    app.command("load-dump")(load_dump_command)
    app.command("validate-dump")(validate_dump_command)

"""How ``status``, ``replay`` and ``backfill`` look on a terminal (rich; no logic here)."""

from __future__ import annotations

import datetime as dt

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from dumpflow.cli.tables import Column, fit, printable
from dumpflow.cli.text import shorten
from dumpflow.control.state import DumpState
from dumpflow.ops.backfill import Action, BackfillResult
from dumpflow.ops.dlq import QueueDepth
from dumpflow.ops.replay import Outcome, ReplayResult
from dumpflow.ops.reports import (
    GATE_COLUMNS,
    Fact,
    dbt_facts,
    gate_facts,
    gate_rows,
    load_facts,
    quality_facts,
)
from dumpflow.ops.status import (
    ATTENTION_STATUSES,
    DumpDetail,
    StatusReport,
    armed_attempt,
    current_error,
)


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def day_ranges(days: list[dt.date]) -> str:
    """``2026-11-03..2026-11-05, 2026-11-09``: consecutive days folded into ranges."""
    spans: list[list[dt.date]] = []
    for day in days:
        if spans and (day - spans[-1][-1]).days == 1:
            spans[-1].append(day)
        else:
            spans.append([day])
    return ", ".join(
        s[0].isoformat() if len(s) == 1 else f"{s[0].isoformat()}..{s[-1].isoformat()}"
        for s in spans
    )


def attempts_text(state: DumpState) -> str:
    """``2``, or ``2→3`` while attempt 3 is armed (replayed or backfilled, not started)."""
    armed = armed_attempt(state)
    return f"{state.attempts}→{armed}" if armed is not None else str(state.attempts)


def _depth(depth: QueueDepth | None, missing: str) -> str:
    if depth is None:
        return missing
    return str(depth.visible) + (f" (+{depth.in_flight} in flight)" if depth.in_flight else "")


def _any_error(state: DumpState) -> str:
    error = state.last_error or {}
    if not error:
        return state.reason or ""
    return f"{error.get('stage', '?')}: {error.get('message', '')}"


STATUS_COLUMNS = (
    Column("date", keep=9),
    Column("dump", keep=6),
    Column("status", keep=8),
    Column("att", keep=4, right=True),
    Column("dup", keep=2, right=True),
    Column("load", keep=3, right=True),
    Column("dbt", keep=3, right=True),
    Column("rows", keep=7, right=True),
    Column("last error", keep=5, text=True),
)


def render_status(console: Console, where: str, report: StatusReport) -> None:
    console.print(f"[bold]dumpflow[/] {escape(where)}")
    lease = report.lease
    if lease:
        since, until = (
            f"{t.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"
            for t in (lease.acquired_at, lease.expires_at)
        )
        expired = lease.expired(dt.datetime.now(dt.UTC))
        until_text = f"[red]expired {until}[/]" if expired else f"until {until}"
        console.print(f"Lease: {escape(printable(lease.holder_key))} since {since}, {until_text}")
    else:
        console.print("Lease: free")
    watermark = report.watermark.isoformat() if report.watermark else "none"
    queue = _depth(report.queue, "unknown (no queue URL)")
    dlq = _depth(report.dlq, "unknown (no DLQ URL)")
    console.print(
        f"Watermark: {watermark}   Waiting: {report.waiting}   Queue: {queue}   DLQ: {dlq}"
    )
    if report.gaps:
        console.print(f"[yellow]Days without a SUCCEEDED dump:[/] {day_ranges(report.gaps)}")
    for note in report.notes:
        console.print(f"[yellow]{escape(printable(note))}[/]")
    rows = [
        [
            line.state.dump_date.isoformat(),
            line.state.key.rsplit("/", 1)[-1],
            str(line.state.status),
            attempts_text(line.state),
            str(line.state.duplicate_events),
            duration(line.state.load_seconds),
            duration(line.state.transform_seconds),
            f"{line.rows_loaded:,}" if line.rows_loaded is not None else "-",
            current_error(line.state),
        ]
        for line in report.dumps
    ]
    if rows:
        console.print(fit(STATUS_COLUMNS, rows, console.width))
    _render_errors(console, [line.state for line in report.dumps])
    if report.detail:
        _render_detail(console, report.detail)


def _render_errors(console: Console, states: list[DumpState]) -> None:
    """The current error of each failed or rejected dump, as much of it as a line holds."""
    failing = [s for s in states if s.status in ATTENTION_STATUSES]
    if not failing:
        return
    console.print("[bold]Last errors[/]")
    for s in failing:
        line = shorten(printable(current_error(s)), console.width - 13)
        console.print(f"  {s.dump_date.isoformat()} {escape(line)}")


def _grid(facts: list[Fact], indent: str = "") -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    for label, text in facts:
        grid.add_row(escape(f"{indent}{label}"), escape(printable(text)))
    return grid


def _render_detail(console: Console, detail: DumpDetail) -> None:
    s = detail.state
    armed = armed_attempt(s)
    error_label = "last error" if s.status in ATTENTION_STATUSES else "earlier error"
    facts: list[Fact] = [
        ("key", f"s3://{s.bucket}/{s.key}"),
        ("etag / size", f"{s.etag} / {s.size:,} bytes"),
        ("status", f"{s.status}" + (f" ({s.stage})" if s.stage else "")),
        ("reason", s.reason or "-"),
        ("mode / schema", f"{s.mode} / {s.target_schema}"),
        ("attempts", str(s.attempts) + (f" (attempt {armed} armed)" if armed else "")),
        ("duplicate events", str(s.duplicate_events)),
        ("glue run", s.glue_run_id or "-"),
        ("ecs task", s.ecs_task_arn or "-"),
        (error_label, _any_error(s) if s.last_error else "-"),
    ]
    facts += sorted(s.timestamps.items(), key=lambda kv: kv[1])
    console.print(_grid(facts))
    history = [
        [
            str(step.get("at", "")),
            str(step.get("from") or "-"),
            str(step.get("to", "")),
            str(step.get("note") or ""),
        ]
        for step in s.history
    ]
    columns = (Column("at", 9), Column("from", 7), Column("to", 8), Column("note", 5, text=True))
    console.print("[bold]History[/]")
    console.print(fit(columns, history, console.width))
    for title, report, summarize in (
        ("Load report", detail.load_report, load_facts),
        ("dbt summary", detail.dbt_report, dbt_facts),
        ("Source data quality (dbt warnings)", detail.dbt_report, quality_facts),
    ):
        facts = summarize(report) if report else []
        console.print(f"[bold]{title}[/]")
        console.print(_grid(facts, "  ") if facts else "  (none written yet)")
        if summarize is load_facts:
            _render_gate(console, report)


GATE_TABLE = (
    Column(GATE_COLUMNS[0], 8),
    Column(GATE_COLUMNS[1], 7),
    Column(GATE_COLUMNS[2], 5),
    Column(GATE_COLUMNS[3], 4),
    Column(GATE_COLUMNS[4], 9),
)


def _render_gate(console: Console, load_report: dict[str, object] | None) -> None:
    """The quality gate's table from the load report (docs/QUALITY_GATE.md)."""
    console.print("[bold]Load quality gate[/]")
    facts = gate_facts(load_report)
    if not facts:
        console.print("  (the load report has no quality section)")
        return
    console.print(_grid(facts, "  "))
    console.print(fit(GATE_TABLE, gate_rows(load_report), console.width))


REPLAY_COLUMNS = (
    Column("date", 9),
    Column("dump", 7),
    Column("status", 6),
    Column("att", 3, right=True),
    Column("mode", 2),
    Column("outcome", 8),
    Column("last error", 4, text=True),
)


def render_replay(console: Console, result: ReplayResult, dry_run: bool) -> None:
    rows = []
    for item in result.items:
        state = item.state
        dump = item.first.dump
        outcome = item.outcome.value + (f" #{item.enqueued.attempt}" if item.enqueued else "")
        note = (
            item.reason
            if item.needs_attention or item.outcome == Outcome.RESOLVED
            else item.last_error
        )
        rows.append(
            [
                item.dump_date.isoformat() if item.dump_date else "?",
                dump.name if dump else item.first.message_id[:20],
                str(state.status) if state else "no state",
                attempts_text(state) if state else "-",
                item.mode or "-",
                outcome,
                note,
            ]
        )
    if not result.items:
        console.print("The DLQ is empty: nothing to replay.")
    else:
        console.print(fit(REPLAY_COLUMNS, rows, console.width))
    for key in result.missing_keys:
        console.print(f"[yellow]{escape(key)}: not in the DLQ[/]")
    if result.unread:
        console.print(
            f"[yellow]{result.unread} DLQ message(s) not reached (held back by FIFO order or in "
            "flight): run replay again after these[/]"
        )
    if dry_run:
        console.print("Dry run: nothing was sent or deleted.")
        return
    console.print(
        f"Sent {result.count(Outcome.SENT)}, refused {result.count(Outcome.REFUSED)}, "
        f"needing --force {result.count(Outcome.NEEDS_FORCE)}, "
        f"unreadable {result.count(Outcome.UNREADABLE)}, "
        f"already resolved {result.count(Outcome.RESOLVED)} (DLQ copies deleted)."
    )


BACKFILL_COLUMNS = (
    Column("date", 9),
    Column("dump", 7),
    Column("where", 3),
    Column("was", 5),
    Column("action", 8),
    Column("note", 4, text=True),
)


def render_backfill(console: Console, result: BackfillResult, dry_run: bool) -> None:
    rows = []
    for item in result.items:
        found = item.found
        rows.append(
            [
                item.day.isoformat(),
                found.ref.name if found else "-",
                ("processed/" if found.archived else "dumps") if found else "-",
                str(item.state.status) if item.state else "-",
                item.action.value + (f" #{item.enqueued.attempt}" if item.enqueued else ""),
                item.reason,
            ]
        )
    console.print(fit(BACKFILL_COLUMNS, rows, console.width))
    if result.missing:
        console.print(f"[yellow]Missing dumps:[/] {day_ranges(result.missing)}")
    verb = "Would enqueue" if dry_run else "Enqueued"
    done = Action.WOULD_ENQUEUE if dry_run else Action.ENQUEUED
    console.print(
        f"{verb} {result.count(done)}, skipped {result.count(Action.SKIPPED)} (SUCCEEDED), "
        f"refused {result.count(Action.REFUSED)}, missing {result.count(Action.MISSING)} "
        f"of {len(result.items)} day(s)."
    )

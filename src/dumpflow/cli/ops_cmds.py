"""``dumpflow status | replay | backfill``: the on-call engineer's commands (rich at the edge).

Exit codes: 0 all well, 1 some dumps need attention, 2 usage or access error (one line).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Iterator
from typing import Annotated, Any

import typer
from botocore.exceptions import BotoCoreError, ClientError
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from dumpflow.cli.text import shorten
from dumpflow.control.state import DumpState, StateStore
from dumpflow.ops.backfill import Action, Backfiller, BackfillItem, BackfillResult
from dumpflow.ops.dlq import DeadLetterQueue
from dumpflow.ops.errors import (
    EXIT_ATTENTION,
    EXIT_OK,
    EXIT_USAGE,
    DumpStepFailed,
    OpsError,
    describe_aws_error,
)
from dumpflow.ops.replay import Outcome, Replayer, ReplayResult
from dumpflow.ops.reports import Fact, dbt_facts, load_facts
from dumpflow.ops.status import ATTENTION_STATUSES, DumpDetail, StatusReport, build_status
from dumpflow.ops.target import AwsTarget, resolve_target

COLUMN_GAP = 2  # right padding + separator between two columns of _table

STATUS_HELP = (
    "Where the pipeline stands: lease, watermark, waiting dumps, DLQ depth and the recent "
    "dumps (newest first). Days since the first dump without a SUCCEEDED dump are flagged. "
    "Exit code 1 when a dump failed or was rejected, a day is missing or the DLQ holds messages."
)
STATUS_EXAMPLES = (
    "dumpflow status --stack-name dumpflow-prod",
    "dumpflow status --date 2026-11-25",
    "dumpflow status --key dumps/gghouse_20261125.sql.gz",
    "dumpflow status --endpoint-url http://127.0.0.1:5000 --json",
)
REPLAY_HELP = (
    "Move failed dumps from the DLQ back to the queue, each at most once. Lists the DLQ's "
    "dumps with their state and last error; each selected dump is armed in the state table "
    "(a new attempt), sent to the FIFO queue, and only then deleted from the DLQ. A dump not "
    "newer than the watermark runs as a backfill into the backfill schema. Without --key or "
    "--all it only lists."
)
REPLAY_EXAMPLES = (
    "dumpflow replay --dry-run --all",
    "dumpflow replay --key dumps/gghouse_20261125.sql.gz",
    "dumpflow replay --key gghouse_20261120.sql --force",
    "dumpflow replay --all --stack-name dumpflow-prod --profile oncall",
)
BACKFILL_HELP = (
    "Re-run a range of dates, oldest first, from dumps/ or processed/. Dates whose dump "
    "already SUCCEEDED are skipped unless --force; dates without a dump are reported (exit "
    "code 1). Each dump is armed in the state table and enqueued as a backfill: it loads into "
    "the backfill schema and refreshes only that date's snapshot models."
)
BACKFILL_EXAMPLES = (
    "dumpflow backfill --from 2026-11-01 --to 2026-11-07 --dry-run",
    "dumpflow backfill --from 20261101 --to 20261107",
    "dumpflow backfill --from 2026-11-03 --to 2026-11-03 --force --json",
)

Profile = Annotated[
    str | None, typer.Option("--profile", help="AWS profile (default: boto3's default chain).")
]
Region = Annotated[str | None, typer.Option("--region", help="AWS region.")]
StackName = Annotated[
    str | None,
    typer.Option(
        "--stack-name",
        envvar="DUMPFLOW_STACK_NAME",
        help="Read bucket, queues and table from this CloudFormation stack's outputs.",
    ),
]
EndpointUrl = Annotated[
    str | None,
    typer.Option(
        "--endpoint-url",
        help="AWS endpoint (the local stack of `make demo`); default $AWS_ENDPOINT_URL.",
    ),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of tables.")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Show what would happen; change nothing.")]
Force = Annotated[
    bool, typer.Option("--force", help="Also reprocess dumps that already SUCCEEDED.")
]


def _parse_date(raw: str | None, option: str) -> dt.date | None:
    if raw is None:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError as exc:
        raise OpsError(f"{option} {raw!r} is not a date (YYYY-MM-DD or YYYYMMDD)") from exc


@contextlib.contextmanager
def _one_line_errors(command: str) -> Iterator[None]:
    """Usage and AWS errors become one line on stderr and exit code 2."""
    try:
        yield
    except OpsError as exc:
        _fail(command, str(exc))
    except (BotoCoreError, ClientError) as exc:
        _fail(command, describe_aws_error(exc))


def _fail(command: str, message: str) -> None:
    Console(stderr=True, soft_wrap=True).print(f"[red]dumpflow {command}:[/] {escape(message)}")
    raise typer.Exit(EXIT_USAGE)


def _target(
    profile: str | None, region: str | None, stack: str | None, endpoint: str | None
) -> AwsTarget:
    return resolve_target(profile=profile, region=region, stack_name=stack, endpoint_url=endpoint)


def _store(target: AwsTarget) -> StateStore:
    return StateStore(target.settings.table, client=target.dynamodb())


def _print_json(document: dict[str, Any]) -> None:
    typer.echo(json.dumps(document, indent=2, ensure_ascii=False))


def _exit(needs_attention: bool) -> None:
    raise typer.Exit(EXIT_ATTENTION if needs_attention else EXIT_OK)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def _day_ranges(days: list[dt.date]) -> str:
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


def _error_text(state: DumpState) -> str:
    error = state.last_error or {}
    if not error:
        return state.reason or ""
    return f"{error.get('stage', '?')}: {error.get('message', '')}"


def _add(table: Table, *cells: str) -> None:
    """Add a row of plain text: keys and AWS messages may contain [brackets], not markup."""
    table.add_row(*(escape(cell) for cell in cells))


def _table(console: Console, *columns: tuple[str, int]) -> Table:
    """A borderless table of fixed ``(name, width)`` columns; the last (width 0) gets what is
    left of the terminal, so rows never wrap and long text ends in an ellipsis."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, padding=(0, 1, 0, 0))
    fixed = sum(width for _, width in columns[:-1]) + COLUMN_GAP * (len(columns) - 1)
    for name, width in columns:
        width = width or max(console.width - fixed, len(name))
        table.add_column(name, overflow="ellipsis", no_wrap=True, min_width=width, max_width=width)
    return table


def _render_status(console: Console, target: AwsTarget, report: StatusReport) -> None:
    console.print(f"[bold]dumpflow[/] {escape(target.describe())}")
    lease = report.lease
    if lease:
        since, until = (
            f"{t.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"
            for t in (lease.acquired_at, lease.expires_at)
        )
        expired = lease.expired(dt.datetime.now(dt.UTC))
        until_text = f"[red]expired {until}[/]" if expired else f"until {until}"
        console.print(f"Lease: {escape(lease.holder_key)} since {since}, {until_text}")
    else:
        console.print("Lease: free")
    watermark = report.watermark.isoformat() if report.watermark else "none"
    dlq = str(report.dlq.total) if report.dlq else "unknown (no DLQ URL)"
    console.print(f"Watermark: {watermark}   Waiting: {report.waiting}   DLQ: {dlq}")
    if report.gaps:
        console.print(f"[yellow]Days without a SUCCEEDED dump:[/] {_day_ranges(report.gaps)}")
    for note in report.notes:
        console.print(f"[yellow]{escape(note)}[/]")
    table = _table(
        console,
        ("date", 10),
        ("dump", 23),
        ("status", 12),
        ("att", 3),
        ("dup", 3),
        ("load", 6),
        ("dbt", 6),
        ("rows", 9),
        ("last error", 0),
    )
    for line in report.dumps:
        s = line.state
        rows = f"{line.rows_loaded:,}" if line.rows_loaded is not None else "-"
        _add(
            table,
            s.dump_date.isoformat(),
            s.key.rsplit("/", 1)[-1],
            str(s.status),
            str(s.attempts),
            str(s.duplicate_events),
            _duration(s.load_seconds),
            _duration(s.transform_seconds),
            rows,
            _error_text(s),
        )
    if report.dumps:
        console.print(table)
    _render_errors(console, [line.state for line in report.dumps])
    if report.detail:
        _render_detail(console, report.detail)


def _render_errors(console: Console, states: list[DumpState]) -> None:
    """The last error of each failed or rejected dump, as much of it as a line holds."""
    failing = [s for s in states if s.status in ATTENTION_STATUSES]
    if not failing:
        return
    console.print("[bold]Last errors[/]")
    for s in failing:
        line = shorten(_error_text(s), console.width - 13)
        console.print(f"  {s.dump_date.isoformat()} {escape(line)}")


def _render_detail(console: Console, detail: DumpDetail) -> None:
    s = detail.state
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold")
    facts.add_column(overflow="fold")
    for label, value in (
        ("key", f"s3://{s.bucket}/{s.key}"),
        ("etag / size", f"{s.etag} / {s.size:,} bytes"),
        ("status", f"{s.status}" + (f" ({s.stage})" if s.stage else "")),
        ("reason", s.reason),
        ("mode / schema", f"{s.mode} / {s.target_schema}"),
        ("attempts", str(s.attempts)),
        ("duplicate events", str(s.duplicate_events)),
        ("glue run", s.glue_run_id),
        ("ecs task", s.ecs_task_arn),
        ("last error", _error_text(s) if s.last_error else None),
    ):
        _add(facts, label, value or "-")
    for name, stamp in sorted(s.timestamps.items(), key=lambda kv: kv[1]):
        _add(facts, name, stamp)
    console.print(facts)
    history = _table(console, ("at", 29), ("from", 12), ("to", 12), ("note", 0))
    for step in s.history:
        _add(
            history,
            str(step.get("at", "")),
            str(step.get("from") or "-"),
            str(step.get("to", "")),
            str(step.get("note") or ""),
        )
    console.print("[bold]History[/]")
    console.print(history)
    for title, report, summarize in (
        ("Load report", detail.load_report, load_facts),
        ("dbt summary", detail.dbt_report, dbt_facts),
    ):
        console.print(f"[bold]{title}[/]")
        console.print(_facts_grid(summarize(report)) if report else "  (none written yet)")


def _facts_grid(facts: list[Fact]) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    for label, text in facts:
        _add(grid, f"  {label}", text)
    return grid


def _render_replay(console: Console, result: ReplayResult, dry_run: bool) -> None:
    table = _table(
        console,
        ("date", 10),
        ("dump", 23),
        ("status", 12),
        ("att", 3),
        ("mode", 8),
        ("outcome", 13),
        ("last error", 0),
    )
    for item in result.items:
        state = item.state
        dump = item.first.dump
        outcome = item.outcome.value + (f" #{item.enqueued.attempt}" if item.enqueued else "")
        _add(
            table,
            item.dump_date.isoformat() if item.dump_date else "?",
            dump.name if dump else item.first.message_id[:20],
            str(state.status) if state else "no state",
            str(state.attempts) if state else "-",
            item.mode or "-",
            outcome,
            item.reason
            if item.needs_attention or item.outcome == Outcome.RESOLVED
            else item.last_error,
        )
    if not result.items:
        console.print("The DLQ is empty: nothing to replay.")
    else:
        console.print(table)
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


def _render_backfill(console: Console, result: BackfillResult, dry_run: bool) -> None:
    table = _table(
        console, ("date", 10), ("dump", 23), ("where", 10), ("was", 12), ("action", 13), ("note", 0)
    )
    for item in result.items:
        found = item.found
        _add(
            table,
            item.day.isoformat(),
            found.ref.name if found else "-",
            ("processed/" if found.archived else "dumps") if found else "-",
            str(item.state.status) if item.state else "-",
            item.action.value + (f" #{item.enqueued.attempt}" if item.enqueued else ""),
            item.reason,
        )
    console.print(table)
    if result.missing:
        console.print(f"[yellow]Missing dumps:[/] {_day_ranges(result.missing)}")
    verb = "Would enqueue" if dry_run else "Enqueued"
    done = Action.WOULD_ENQUEUE if dry_run else Action.ENQUEUED
    console.print(
        f"{verb} {result.count(done)}, skipped {result.count(Action.SKIPPED)} (SUCCEEDED), "
        f"refused {result.count(Action.REFUSED)}, missing {result.count(Action.MISSING)} "
        f"of {len(result.items)} day(s)."
    )


def status(
    limit: Annotated[int, typer.Option("--limit", min=1, help="Rows to show.")] = 30,
    date: Annotated[str | None, typer.Option("--date", help="Only dumps of this date.")] = None,
    key: Annotated[str | None, typer.Option("--key", help="One dump in full.")] = None,
    as_json: AsJson = False,
    profile: Profile = None,
    region: Region = None,
    stack_name: StackName = None,
    endpoint_url: EndpointUrl = None,
) -> None:
    """``dumpflow status``; its help text is STATUS_HELP."""
    with _one_line_errors("status"):
        on_date = _parse_date(date, "--date")
        target = _target(profile, region, stack_name, endpoint_url)
        target.require("table")
        settings = target.settings
        dlq = DeadLetterQueue(target.sqs(), settings.dlq_url) if settings.dlq_url else None
        if key and "/" not in key:
            key = settings.dump_prefix + key
        report = build_status(
            _store(target),
            target.s3() if settings.bucket else None,
            settings.bucket,
            dlq,
            limit=limit,
            on_date=on_date,
            key=key,
        )
    if as_json:
        _print_json(report.to_dict())
    else:
        _render_status(Console(), target, report)
    _exit(report.needs_attention)


def replay(
    key: Annotated[
        list[str] | None,
        typer.Option("--key", help="Dump key or file name to replay (repeatable)."),
    ] = None,
    replay_all: Annotated[bool, typer.Option("--all", help="Replay every DLQ dump.")] = False,
    dry_run: DryRun = False,
    force: Force = False,
    as_json: AsJson = False,
    profile: Profile = None,
    region: Region = None,
    stack_name: StackName = None,
    endpoint_url: EndpointUrl = None,
) -> None:
    """``dumpflow replay``; its help text is REPLAY_HELP."""
    if key and replay_all:
        _fail("replay", "pass either --key or --all, not both")
    listing_only = dry_run or not (key or replay_all)
    with _one_line_errors("replay"):
        target = _target(profile, region, stack_name, endpoint_url)
        target.require("table", "queue_url", "dlq_url")
        settings = target.settings
        sqs = target.sqs()
        replayer = Replayer(
            _store(target),
            DeadLetterQueue(sqs, settings.dlq_url, settings.key_pattern),
            sqs,
            settings.queue_url,
            force=force,
        )
        result = replayer.run(None if replay_all else key, dry_run=listing_only)
    if as_json:
        _print_json(result.to_dict())
    else:
        _render_replay(Console(), result, listing_only)
        if listing_only and not dry_run and result.items:
            Console().print("Pass --key K or --all to replay.")
    _exit(result.needs_attention or (listing_only and bool(result.items)))


def backfill(
    date_from: Annotated[str, typer.Option("--from", help="First date (YYYY-MM-DD).")],
    date_to: Annotated[str, typer.Option("--to", help="Last date, inclusive.")],
    dry_run: DryRun = False,
    force: Force = False,
    as_json: AsJson = False,
    profile: Profile = None,
    region: Region = None,
    stack_name: StackName = None,
    endpoint_url: EndpointUrl = None,
) -> None:
    """``dumpflow backfill``; its help text is BACKFILL_HELP."""
    with _one_line_errors("backfill"):
        start = _parse_date(date_from, "--from")
        end = _parse_date(date_to, "--to")
        if start is None or end is None:
            raise OpsError("--from and --to are required")
        target = _target(profile, region, stack_name, endpoint_url)
        target.require("table", "bucket", "queue_url")
        backfiller = Backfiller(
            _store(target), target.s3(), target.sqs(), target.settings, force=force
        )
        items = backfiller.plan(start, end)
        try:
            result = (
                BackfillResult(items)
                if dry_run
                else _run_with_progress(backfiller, items, quiet=as_json)
            )
        except DumpStepFailed:
            if not as_json:
                _render_backfill(Console(), BackfillResult(items), dry_run=False)
            raise
    if as_json:
        _print_json(result.to_dict())
    else:
        _render_backfill(Console(), result, dry_run)
    _exit(result.needs_attention)


def _run_with_progress(
    backfiller: Backfiller, items: list[BackfillItem], *, quiet: bool
) -> BackfillResult:
    """Enqueue with a progress bar on the terminal (none for --json or when piped)."""
    console = Console(stderr=True)
    with Progress(
        TextColumn("[bold]backfill[/] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        transient=True,
        disable=quiet or not console.is_terminal,
    ) as progress:
        task = progress.add_task("", total=len(items))

        def advance(item: BackfillItem) -> None:
            progress.update(task, advance=1, description=item.day.isoformat())

        return backfiller.run(items, on_item=advance)


def register(app: typer.Typer) -> None:
    """Add status, replay and backfill to the app."""
    for name, command, text, examples in (
        ("status", status, STATUS_HELP, STATUS_EXAMPLES),
        ("replay", replay, REPLAY_HELP, REPLAY_EXAMPLES),
        ("backfill", backfill, BACKFILL_HELP, BACKFILL_EXAMPLES),
    ):
        epilog = "[bold]Examples[/]\n\n" + "\n".join(f"  {line}" for line in examples)
        short = text.split(". ", 1)[0] + "."
        app.command(name, help=text, short_help=short, epilog=epilog)(command)

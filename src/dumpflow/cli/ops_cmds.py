"""``dumpflow status | replay | backfill``: the on-call engineer's commands (rich at the edge).

Exit codes: 0 all well, 1 some dumps need attention (or the operator said no), 2 usage,
setting or access error (one line), 130 interrupted (what was done and how to resume are
printed).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sys
from collections.abc import Iterator
from typing import Annotated, Any, NoReturn

import typer
from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from dumpflow.cli.globals import (
    ConflictingOption,
    EndpointUrl,
    GlobalOptions,
    Profile,
    Region,
    StackName,
    global_options,
)
from dumpflow.cli.ops_render import render_backfill, render_replay, render_status
from dumpflow.config import SettingError
from dumpflow.control.state import DumpStatus, StateStore
from dumpflow.dumps import today_jst
from dumpflow.ops.backfill import Action, Backfiller, BackfillItem, BackfillResult
from dumpflow.ops.dlq import DeadLetterQueue
from dumpflow.ops.errors import (
    EXIT_ATTENTION,
    EXIT_OK,
    EXIT_USAGE,
    DumpStepFailed,
    Interrupted,
    OpsError,
    describe_aws_error,
)
from dumpflow.ops.queues import queue_depth, verify_dead_letter_queue
from dumpflow.ops.replay import Outcome, Replayer, ReplayResult, accept_quality, check_operator
from dumpflow.ops.status import build_status
from dumpflow.ops.target import AwsTarget, resolve_target

EXIT_INTERRUPTED = 130
CONFIRM_ABOVE_DATES = 3  # a backfill enqueuing more dates than this asks first

STATUS_HELP = (
    "Where the pipeline stands: lease, watermark, waiting dumps, main queue and DLQ depth and "
    "the recent dumps (newest first). Days since the first dump without a SUCCEEDED dump are "
    "flagged. Exit code 1 when a dump failed or was rejected, a day is missing or the DLQ "
    "holds messages."
)
STATUS_EXAMPLES = (
    "dumpflow status --stack-name dumpflow-prod",
    "dumpflow status --status failed,rejected --since 7d",
    "dumpflow status --date 2026-11-25",
    "dumpflow status --key dumps/gghouse_20261125.sql.gz",
    "dumpflow --endpoint-url http://127.0.0.1:5000 status --json",
)
REPLAY_HELP = (
    "Move failed dumps from the DLQ back to the queue, each at most once. Without --key or "
    "--all it only lists the DLQ's dumps with their state and last error (exit code 1 when one "
    "waits). Each selected dump is armed in the state table (a new attempt), sent to the FIFO "
    "queue, and only then deleted from the DLQ. A dump not newer than the watermark runs as a "
    "backfill into the backfill schema. Replay first checks that the queue it drains is the "
    "main queue's DLQ (redrive policy); --all and --force ask for confirmation (--yes when "
    "there is no terminal). A dump REJECTED by the quality gate is not on the DLQ: "
    "--accept-quality KEY --operator NAME re-runs it once, publishing even if the gate fails "
    "again (who and when are kept in the dump's history)."
)
REPLAY_EXAMPLES = (
    "dumpflow replay",
    "dumpflow replay --key dumps/gghouse_20261125.sql.gz",
    "dumpflow replay --key gghouse_20261120.sql --force",
    "dumpflow replay --all --yes --stack-name dumpflow-prod --profile oncall",
    "dumpflow replay --accept-quality gghouse_20261125.sql.gz --operator tanaka --yes",
)
BACKFILL_HELP = (
    "Re-run a range of dates, oldest first, from dumps/ or processed/. Dates whose dump "
    "already SUCCEEDED are skipped unless --force; dates without a dump are reported (exit "
    "code 1). Each dump is armed in the state table and enqueued as a backfill: it loads into "
    f"the backfill schema and refreshes only that date's snapshot models. More than "
    f"{CONFIRM_ABOVE_DATES} dates, or --force, ask for confirmation (--yes without a terminal)."
)
BACKFILL_EXAMPLES = (
    "dumpflow backfill --from 2026-11-01 --to 2026-11-07 --dry-run",
    "dumpflow backfill --from 20261101 --to 20261107 --yes",
    "dumpflow backfill --from 2026-11-03 --to 2026-11-03 --force --json --yes",
)

AsJson = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of tables.")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Show what would happen; change nothing.")]
Force = Annotated[
    bool, typer.Option("--force", help="Also reprocess dumps that already SUCCEEDED.")
]
Yes = Annotated[
    bool, typer.Option("--yes", "-y", help="Confirm a destructive action without asking.")
]


def _parse_date(raw: str | None, option: str) -> dt.date | None:
    if raw is None:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError as exc:
        raise OpsError(f"{option} {raw!r} is not a date (YYYY-MM-DD or YYYYMMDD)") from exc


def _parse_since(raw: str | None) -> dt.date | None:
    """``--since 2026-11-20``, ``20261120`` or ``7d`` (seven days back from today, JST)."""
    if raw is None:
        return None
    text = raw.strip().lower()
    if text.endswith("d") and text[:-1].isdigit() and len(text) <= 5:
        return today_jst() - dt.timedelta(days=int(text[:-1]))
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise OpsError(f"--since {raw!r} is not a date (YYYY-MM-DD) or a day count (7d)") from exc


def _parse_statuses(raw: list[str] | None) -> frozenset[DumpStatus] | None:
    """``--status failed,rejected`` (repeatable, any case)."""
    if not raw:
        return None
    wanted: set[DumpStatus] = set()
    for part in (p.strip() for chunk in raw for p in chunk.split(",")):
        if not part:
            continue
        try:
            wanted.add(DumpStatus(part.upper()))
        except ValueError as exc:
            names = ", ".join(s.value for s in DumpStatus)
            raise OpsError(f"--status {part!r} is not one of {names}") from exc
    if not wanted:
        raise OpsError("--status needs a status name")
    return frozenset(wanted)


@contextlib.contextmanager
def _one_line_errors(command: str) -> Iterator[None]:
    """Usage, setting and AWS errors become one line on stderr and exit code 2."""
    try:
        yield
    except (OpsError, SettingError, ConflictingOption) as exc:
        _fail(command, str(exc))
    except (BotoCoreError, ClientError) as exc:
        _fail(command, describe_aws_error(exc))
    except KeyboardInterrupt:
        _err().print(f"dumpflow {command}: interrupted before anything was changed")
        raise typer.Exit(EXIT_INTERRUPTED) from None


def _err() -> Console:
    return Console(stderr=True, soft_wrap=True, highlight=False)


def _fail(command: str, message: str) -> NoReturn:
    _err().print(f"[red]dumpflow {command}:[/] {escape(message)}")
    raise typer.Exit(EXIT_USAGE)


def _target(ctx: typer.Context, after: GlobalOptions) -> AwsTarget:
    options = global_options(ctx, after)
    return resolve_target(
        profile=options.profile,
        region=options.region,
        stack_name=options.stack_name,
        endpoint_url=options.endpoint_url,
    )


def _store(target: AwsTarget) -> StateStore:
    return StateStore(target.settings.table, client=target.dynamodb())


def _print_json(document: dict[str, Any]) -> None:
    typer.echo(json.dumps(document, indent=2, ensure_ascii=False))


def _exit(needs_attention: bool) -> NoReturn:
    raise typer.Exit(EXIT_ATTENTION if needs_attention else EXIT_OK)


def _interactive() -> bool:
    """Someone at a terminal can be asked."""
    return sys.stdin.isatty()


def _confirm(command: str, question: str, *, yes: bool) -> None:
    """Ask on a terminal; without one the action needs --yes. A "no" changes nothing."""
    if yes:
        return
    if not _interactive():
        raise OpsError(f"{question}: pass --yes to confirm (no terminal to ask)")
    if not typer.confirm(f"{question}?", default=False, err=True):
        _err().print(f"dumpflow {command}: not confirmed; nothing was changed")
        raise typer.Exit(EXIT_ATTENTION)


def status(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Rows to show.")] = 30,
    date: Annotated[str | None, typer.Option("--date", help="Only dumps of this date.")] = None,
    key: Annotated[str | None, typer.Option("--key", help="One dump in full.")] = None,
    status_filter: Annotated[
        list[str] | None,
        typer.Option(
            "--status", help="Only dumps in these statuses (comma-separated or repeated)."
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option("--since", help="Only dumps dated from this day on (YYYY-MM-DD, or 7d)."),
    ] = None,
    as_json: AsJson = False,
    profile: Profile = None,
    region: Region = None,
    stack_name: StackName = None,
    endpoint_url: EndpointUrl = None,
) -> None:
    """``dumpflow status``; its help text is STATUS_HELP."""
    with _one_line_errors("status"):
        on_date = _parse_date(date, "--date")
        statuses = _parse_statuses(status_filter)
        from_day = _parse_since(since)
        target = _target(ctx, GlobalOptions(profile, region, stack_name, endpoint_url))
        target.require("table")
        settings = target.settings
        sqs = target.sqs() if settings.dlq_url or settings.queue_url else None
        dlq = DeadLetterQueue(sqs, settings.dlq_url) if sqs and settings.dlq_url else None
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
            statuses=statuses,
            since=from_day,
            queue=(lambda: queue_depth(sqs, settings.queue_url))
            if sqs and settings.queue_url
            else None,
        )
    if as_json:
        _print_json(report.to_dict())
    else:
        render_status(Console(), target.describe(), report)
    _exit(report.needs_attention)


def _replay_question(plan: ReplayResult, target: AwsTarget) -> str:
    sends = plan.count(Outcome.WOULD_SEND)
    drops = plan.count(Outcome.RESOLVED)
    where = target.stack_name or target.settings.queue_url
    return f"Replay {sends} dump(s) to {where} and delete their DLQ letters" + (
        f", and delete {drops} letter(s) already resolved" if drops else ""
    )


def replay(
    ctx: typer.Context,
    key: Annotated[
        list[str] | None,
        typer.Option("--key", help="Dump key or file name to replay (repeatable)."),
    ] = None,
    replay_all: Annotated[bool, typer.Option("--all", help="Replay every DLQ dump.")] = False,
    dry_run: DryRun = False,
    force: Force = False,
    yes: Yes = False,
    as_json: AsJson = False,
    profile: Profile = None,
    region: Region = None,
    stack_name: StackName = None,
    endpoint_url: EndpointUrl = None,
    accept_quality_key: Annotated[
        str | None,
        typer.Option(
            "--accept-quality",
            help="Re-run this dump, REJECTED by the quality gate, once with the gate's "
            "verdict accepted (it publishes even if the gate fails; needs --operator).",
        ),
    ] = None,
    operator: Annotated[
        str | None,
        typer.Option("--operator", help="Who accepts (recorded in the dump's history)."),
    ] = None,
) -> None:
    """``dumpflow replay``; its help text is REPLAY_HELP."""
    if accept_quality_key is not None:
        if key or replay_all or force:
            _fail("replay", "--accept-quality replays one dump: no --key, --all or --force")
        _replay_accepting(
            ctx,
            accept_quality_key,
            operator,
            dry_run=dry_run,
            yes=yes,
            as_json=as_json,
            options=GlobalOptions(profile, region, stack_name, endpoint_url),
        )
        return
    if operator is not None:
        _fail("replay", "--operator goes with --accept-quality")
    if key and replay_all:
        _fail("replay", "pass either --key or --all, not both")
    listing_only = dry_run or not (key or replay_all)
    selection = None if replay_all else key
    out = Console(stderr=as_json)
    with _one_line_errors("replay"):
        target = _target(ctx, GlobalOptions(profile, region, stack_name, endpoint_url))
        target.require("table", "queue_url", "dlq_url")
        settings = target.settings
        sqs = target.sqs()
        verify_dead_letter_queue(sqs, settings.queue_url, settings.dlq_url)
        replayer = Replayer(
            _store(target),
            DeadLetterQueue(sqs, settings.dlq_url, settings.key_pattern),
            sqs,
            settings.queue_url,
            force=force,
        )
        if not listing_only and (replay_all or force) and not yes:
            plan = replayer.run(selection, dry_run=True)
            if plan.count(Outcome.WOULD_SEND) or plan.count(Outcome.RESOLVED):
                render_replay(out, plan, dry_run=True)
                _confirm("replay", _replay_question(plan, target), yes=yes)
        try:
            result = replayer.run(selection, dry_run=listing_only)
        except Interrupted as stop:
            _interrupted_replay(out, stop.partial, as_json)
    if as_json:
        _print_json(result.to_dict())
    else:
        render_replay(out, result, listing_only)
        if listing_only and not dry_run and result.items:
            out.print("Pass --key K or --all to replay.")
    _exit(result.needs_attention)


def _replay_accepting(
    ctx: typer.Context,
    key: str,
    operator: str | None,
    *,
    dry_run: bool,
    yes: bool,
    as_json: bool,
    options: GlobalOptions,
) -> None:
    """``replay --accept-quality KEY --operator NAME``: one dump, its quality accepted."""
    out = Console(stderr=as_json)
    with _one_line_errors("replay"):
        name = check_operator(operator)
        target = _target(ctx, options)
        target.require("table", "queue_url")
        settings = target.settings
        if "/" not in key:
            key = settings.dump_prefix + key
        store = _store(target)
        plan = accept_quality(store, target.sqs(), settings.queue_url, key, name, dry_run=True)
        if not dry_run and not yes:
            _confirm(
                "replay",
                f"Re-run {key} ({plan.reason}) as {plan.mode}, publishing it even if the "
                f"quality gate fails again, accepted by {name}",
                yes=yes,
            )
        result = (
            plan if dry_run else accept_quality(store, target.sqs(), settings.queue_url, key, name)
        )
    if as_json:
        _print_json(result.to_dict())
        return
    if dry_run:
        out.print(
            f"would re-run {escape(result.key)} as {result.mode} with its quality accepted by "
            f"{escape(result.operator)} (was {escape(result.reason)})"
        )
        return
    out.print(
        f"sent {escape(result.key)} as {result.mode} attempt {result.attempt}: quality "
        f"accepted by {escape(result.operator)} for that attempt only "
        f"(see dumpflow status --key {escape(result.key)})"
    )


def _interrupted_replay(out: Console, partial: object, as_json: bool) -> NoReturn:
    assert isinstance(partial, ReplayResult)
    if as_json:
        _print_json({**partial.to_dict(), "interrupted": True})
    else:
        render_replay(out, partial, dry_run=False)
    sent = [i.key for i in partial.items if i.outcome == Outcome.SENT]
    _err().print(
        f"dumpflow replay: interrupted after sending {len(sent)} dump(s)"
        + (f" ({', '.join(k for k in sent if k)})" if sent else "")
        + ". Nothing is lost: letters not yet sent stay on the DLQ, and an armed dump runs "
        "once. Resume with the same command (dumpflow replay --all, or --key ...)."
    )
    raise typer.Exit(EXIT_INTERRUPTED)


def backfill(
    ctx: typer.Context,
    date_from: Annotated[str, typer.Option("--from", help="First date (YYYY-MM-DD).")],
    date_to: Annotated[str, typer.Option("--to", help="Last date, inclusive.")],
    dry_run: DryRun = False,
    force: Force = False,
    yes: Yes = False,
    as_json: AsJson = False,
    profile: Profile = None,
    region: Region = None,
    stack_name: StackName = None,
    endpoint_url: EndpointUrl = None,
) -> None:
    """``dumpflow backfill``; its help text is BACKFILL_HELP."""
    out = Console(stderr=as_json)
    with _one_line_errors("backfill"):
        start = _parse_date(date_from, "--from")
        end = _parse_date(date_to, "--to")
        if start is None or end is None:
            raise OpsError("--from and --to are required")
        target = _target(ctx, GlobalOptions(profile, region, stack_name, endpoint_url))
        target.require("table", "bucket", "queue_url")
        backfiller = Backfiller(
            _store(target), target.s3(), target.sqs(), target.settings, force=force
        )
        items = backfiller.plan(start, end)
        planned = sum(1 for item in items if item.action == Action.WOULD_ENQUEUE)
        if not dry_run and planned and (force or planned > CONFIRM_ABOVE_DATES) and not yes:
            render_backfill(out, BackfillResult(items), dry_run=True)
            forced = " (--force: also dates that SUCCEEDED)" if force else ""
            _confirm("backfill", f"Enqueue {planned} date(s) as backfills{forced}", yes=yes)
        try:
            result = (
                BackfillResult(items)
                if dry_run
                else _run_with_progress(backfiller, items, quiet=as_json)
            )
        except DumpStepFailed:
            if not as_json:
                render_backfill(out, BackfillResult(items), dry_run=False)
            raise
        except Interrupted as stop:
            _interrupted_backfill(out, stop.partial, end, force=force, as_json=as_json)
    if as_json:
        _print_json(result.to_dict())
    else:
        render_backfill(out, result, dry_run)
    _exit(result.needs_attention)


def _interrupted_backfill(
    out: Console, partial: object, end: dt.date, *, force: bool, as_json: bool
) -> NoReturn:
    assert isinstance(partial, BackfillResult)
    if as_json:
        _print_json({**partial.to_dict(), "interrupted": True})
    else:
        render_backfill(out, partial, dry_run=False)
    pending = [item.day for item in partial.items if item.action == Action.WOULD_ENQUEUE]
    done = partial.count(Action.ENQUEUED)
    resume = (
        f"Resume with: dumpflow backfill --from {pending[0].isoformat()} --to "
        f"{end.isoformat()}" + (" --force" if force else "")
        if pending
        else "Every planned date was enqueued."
    )
    _err().print(f"dumpflow backfill: interrupted after enqueuing {done} date(s). {resume}")
    raise typer.Exit(EXIT_INTERRUPTED)


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

"""What ``dumpflow demo`` does once its dependencies are known to be installed.

Rendering only: the stack lives in ``dumpflow.local.demo_stack`` and the story in
``dumpflow.local.scenario``. A Ctrl-C is noted by a SIGINT handler before anything can
swallow it (dbt turns KeyboardInterrupt into a failed run, which would fail its dump and the
step), so the demo reports "interrupted at step N" (exit 130), never a failed step.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import shutil
import signal
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from dumpflow.cli.tables import Column, fit
from dumpflow.control.state import DumpStatus, StateStore
from dumpflow.db import DSN_ENV, Dsn, DsnError
from dumpflow.local.demo_stack import DemoLayout, DemoRuntime, demo_runtime
from dumpflow.local.mariadb import MariaDBUnavailable
from dumpflow.local.mysql import MYSQL_DSN_ENV, MySQLUnavailable
from dumpflow.local.scenario import STEPS, DemoScenario, ScenarioResult, StepResult
from dumpflow.local.template import TemplateError
from dumpflow.ops.dlq import DeadLetterQueue
from dumpflow.ops.reports import GATE_COLUMNS, gate_rows
from dumpflow.ops.serialize import to_jsonable
from dumpflow.ops.status import build_status, current_error
from dumpflow.sample import SampleDumpError

EXIT_STEP_FAILED, EXIT_SETUP_FAILED, EXIT_INTERRUPTED = 1, 2, 130


@dataclass(frozen=True, slots=True)
class DemoOptions:
    scale: float = 0.05
    keep: bool = False
    as_json: bool = False
    workdir: Path | None = None
    engine: str = "mariadb"
    dsn: str | None = None
    schema_suffix: str = ""


class InterruptWatch:
    """Remembers that Ctrl-C was pressed, whatever the code it interrupted did with it."""

    def __init__(self) -> None:
        self.pressed = threading.Event()
        self.doing = "setting up"

    def note(self, text: str) -> None:
        """What the demo is doing now (for "interrupted while ...")."""
        self.doing = text

    @contextlib.contextmanager
    def watching(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def on_sigint(signum: int, frame: FrameType | None) -> None:
            self.pressed.set()
            raise KeyboardInterrupt

        previous = signal.signal(signal.SIGINT, on_sigint)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}s"


def _open_log(workdir: Path) -> Path:
    """Everything the stack logs goes to one file (the terminal keeps the story)."""
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "demo.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(logging.INFO)
    logging.captureWarnings(True)
    return path


DEMO_COLUMNS = (
    Column("dump", 9),
    Column("status", 8),
    Column("load", 4, right=True),
    Column("dbt", 4, right=True),
    Column("rows loaded", 7, right=True),
    Column("dup.", 3, right=True),
    Column("note", 5, text=True),
)


def _status_table(console: Console, runtime: DemoRuntime) -> Table:
    settings = runtime.settings
    report = build_status(
        StateStore(settings.table, client=runtime.stack.client("dynamodb")),
        runtime.stack.client("s3"),
        settings.bucket,
        DeadLetterQueue(runtime.stack.client("sqs"), settings.dlq_url, settings.key_pattern),
    )
    rows = []
    for line in report.dumps:
        state = line.state
        rows_loaded = line.rows_loaded if state.status == DumpStatus.SUCCEEDED else None
        rows.append(
            [
                state.key.rsplit("/", 1)[-1],
                str(state.status),
                _seconds(state.load_seconds),
                _seconds(state.transform_seconds),
                "-" if rows_loaded is None else f"{rows_loaded:,}",
                str(state.duplicate_events),
                current_error(state),
            ]
        )
    table = fit(DEMO_COLUMNS, rows, console.width)
    table.title = "dumps (newest first)"
    table.caption = (
        f"watermark {report.watermark or '-'} | DLQ depth {report.dlq.total if report.dlq else 0}"
    )
    return table


def _gate_table(quality: dict[str, Any], width: int) -> Table:
    """The quality gate's table of the stale copy (step 5), failures first."""
    columns = [Column(name, keep) for name, keep in zip(GATE_COLUMNS, (8, 7, 5, 4, 9), strict=True)]
    table = fit(columns, gate_rows({"quality": quality}), width)
    table.title = f"quality gate of the stale copy: {quality.get('summary') or '-'}"
    return table


def _occupancy_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="gold.occupancy_daily")
    for column in ("date", "rooms", "occupied", "occupancy"):
        table.add_column(column, justify="left" if column == "date" else "right")
    for row in rows:
        rate = row.get("occupancy_rate")
        table.add_row(
            str(row["snapshot_date"]),
            f"{int(row['room_count']):,}",
            f"{int(row['occupied_room_count']):,}",
            "-" if rate is None else f"{float(rate):.1%}",
        )
    return table


def _document(
    result: ScenarioResult, log_path: Path, seconds: float, interrupted: bool
) -> dict[str, Any]:
    return {
        "ok": result.ok and not interrupted,
        "interrupted": interrupted,
        "failed_step": (
            {"step": result.failed.step, "title": result.failed.title, "cause": result.failed.cause}
            if result.failed and not interrupted
            else None
        ),
        "seconds": round(seconds, 1),
        "log_file": str(log_path),
        "dates": to_jsonable(result.dates),
        "steps": [to_jsonable(step) for step in result.steps],
        "watermark": to_jsonable(result.watermark),
        "dlq_before_replay": result.dlq_before_replay,
        "replay": result.replay_outcomes,
        "rejected_quality": result.rejected_quality,
        "dlq_after_replay": result.dlq_after_replay,
        "staging_rows": result.staging_rows,
        "dumps": [to_jsonable(state) for state in result.dumps],
        "occupancy": to_jsonable(result.occupancy),
    }


def _wait_for_interrupt(console: Console, runtime: DemoRuntime) -> None:
    exports = {
        "AWS_ENDPOINT_URL": runtime.endpoint.url,
        "AWS_DEFAULT_REGION": runtime.endpoint.region,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "DUMPFLOW_TABLE": runtime.settings.table,
        "DUMPFLOW_BUCKET": runtime.settings.bucket,
        "DUMPFLOW_QUEUE_URL": runtime.settings.queue_url,
        "DUMPFLOW_DLQ_URL": runtime.settings.dlq_url,
        "DUMPFLOW_DSN": f"mysql://{runtime.dsn.user}@{runtime.dsn.host}:{runtime.dsn.port}",
    }
    console.print("\n[bold]--keep:[/bold] the stack stays up. In another shell:")
    for name, value in exports.items():
        console.print(f"  export {name}='{value}'")
    console.print("  dumpflow status\nPress Ctrl-C to stop.")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        console.print("stopping")


def _server_dsn(options: DemoOptions) -> Dsn | None:
    """The server asked for (--dsn, else the engine's variable), checked; None: the default."""
    variable = MYSQL_DSN_ENV if options.engine == "mysql" else DSN_ENV
    name, raw = ("--dsn", options.dsn) if options.dsn else (variable, os.environ.get(variable))
    if not raw:
        return None
    try:
        return Dsn.parse(raw)
    except DsnError as exc:
        typer.echo(f"dumpflow demo: {name}: {exc}", err=True)
        raise typer.Exit(EXIT_SETUP_FAILED) from exc


def _interrupted(
    console: Console,
    doing: str,
    result: ScenarioResult | None,
    log_path: Path,
    seconds: float,
    as_json: bool,
) -> NoReturn:
    if as_json and result is not None:
        document = _document(result, log_path, seconds, interrupted=True)
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    console.print(
        f"[yellow]demo interrupted (Ctrl-C) while {doing}[/yellow]: stopped and cleaned up; "
        f"this is not a failed step (log: {log_path})"
    )
    raise typer.Exit(EXIT_INTERRUPTED)


def run_demo(options: DemoOptions) -> None:
    """Set up, play the scenario, print the outcome; exits with the documented code."""
    stream = sys.stderr if options.as_json else sys.stdout
    # Piped output (CI logs, files) gets the 100 columns the tables are laid out for.
    console = Console(file=stream, width=None if stream.isatty() else 100)
    layout = DemoLayout(schema_suffix=options.schema_suffix, engine=options.engine)
    unusable = layout.missing_files()
    if unusable:
        console.print(
            f"[red]demo setup failed:[/red] {', '.join(unusable)} not found: the demo runs "
            "from a dumpflow checkout (make demo), where the template, the Glue script and "
            "the dbt project are"
        )
        raise typer.Exit(EXIT_SETUP_FAILED)
    server = _server_dsn(options)
    run_dir = options.workdir or Path.cwd() / ".demo" / dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    log_path = _open_log(run_dir)
    console.print(f"logs: [bold]{log_path}[/bold]")
    started = time.monotonic()
    result: ScenarioResult | None = None
    watch = InterruptWatch()
    seconds = 0.0
    try:
        with (
            log_path.open("a", encoding="utf-8") as cloud_log,
            demo_runtime(layout, server, output=cloud_log) as runtime,
        ):
            console.print(
                f"moto at {runtime.endpoint.url}, {layout.engine_label} at "
                f"{runtime.dsn.redacted()}, stack [bold]{layout.stack_name}[/bold] from "
                "template.yaml"
            )
            for difference in runtime.local_differences:
                console.print(f"  local setting: {difference}")
            with watch.watching():
                result = _play(console, runtime, run_dir, options.scale, watch)
            seconds = time.monotonic() - started
            if watch.pressed.is_set():
                raise KeyboardInterrupt
            if not options.as_json:
                console.print(_status_table(console, runtime))
                if result.rejected_quality:
                    console.print(_gate_table(result.rejected_quality, console.width))
                if result.occupancy:
                    console.print(_occupancy_table(result.occupancy))
            if options.keep:
                _wait_for_interrupt(console, runtime)
    except KeyboardInterrupt:
        _interrupted(console, watch.doing, result, log_path, time.monotonic() - started,
                     options.as_json)  # fmt: skip
    except (MariaDBUnavailable, MySQLUnavailable, TemplateError, SampleDumpError) as exc:
        console.print(f"[red]demo setup failed:[/red] {exc}")
        raise typer.Exit(EXIT_SETUP_FAILED) from exc
    except Exception as exc:
        logging.getLogger(__name__).exception("demo stopped")
        console.print(
            f"[red]demo setup failed:[/red] {type(exc).__name__}: {exc} (traceback in {log_path})"
        )
        raise typer.Exit(EXIT_SETUP_FAILED) from exc
    finally:
        if not options.keep:
            shutil.rmtree(run_dir / "dumps", ignore_errors=True)
    _finish(console, result, log_path, seconds, options.as_json)


def _play(
    console: Console, runtime: DemoRuntime, run_dir: Path, scale: float, watch: InterruptWatch
) -> ScenarioResult:
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
        console=console, transient=True,
    ) as progress:  # fmt: skip
        task = progress.add_task("starting", total=None)

        def on_progress(text: str) -> None:
            watch.note(text)
            progress.update(task, description=text)

        def on_step(step: StepResult) -> None:
            if watch.pressed.is_set():
                mark = "[yellow]interrupted[/yellow]"
            else:
                mark = "[green]ok[/green]" if step.ok else "[red]FAILED[/red]"
            progress.console.print(
                f"{mark} step {step.number}: {step.title} ({step.seconds:.1f}s)\n"
                f"     expected: {step.expected}\n     observed: {step.observed}"
            )

        scenario = DemoScenario(
            runtime,
            run_dir,
            scale=scale,
            on_step=on_step,
            on_progress=on_progress,
        )
        return scenario.run()


def _finish(
    console: Console,
    result: ScenarioResult | None,
    log_path: Path,
    seconds: float,
    as_json: bool,
) -> None:
    if result is None:
        console.print(f"[red]demo stopped before its first step[/red] (log: {log_path})")
        raise typer.Exit(EXIT_SETUP_FAILED)
    if as_json:
        sys.stdout.write(json.dumps(_document(result, log_path, seconds, False), indent=2) + "\n")
    if not result.ok:
        failed = result.failed
        cause = f"step {failed.step} ({failed.title}): {failed.cause}" if failed else "incomplete"
        console.print(f"[red]demo failed at {cause}[/red] (log: {log_path})")
        raise typer.Exit(EXIT_STEP_FAILED)
    console.print(f"[green]all {STEPS} steps ended as listed[/green] in {seconds:.0f}s")

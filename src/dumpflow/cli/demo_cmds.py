"""``dumpflow demo``: the whole dump flow on this machine, no AWS account (what ``make demo`` runs).

Rendering only: the stack lives in ``dumpflow.local.demo_stack`` and the story in
``dumpflow.local.scenario``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import shutil
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from dumpflow.cli.text import shorten
from dumpflow.control.state import DumpStatus, StateStore
from dumpflow.db import Dsn
from dumpflow.local.demo_stack import DemoLayout, DemoRuntime, demo_runtime
from dumpflow.local.mariadb import MariaDBUnavailable
from dumpflow.local.scenario import DemoScenario, ScenarioResult, StepResult
from dumpflow.local.template import TemplateError
from dumpflow.ops.dlq import DeadLetterQueue
from dumpflow.ops.serialize import to_jsonable
from dumpflow.ops.status import build_status
from dumpflow.sample import SampleDumpError

EXIT_STEP_FAILED, EXIT_SETUP_FAILED = 1, 2
SCHEMA_SUFFIX = re.compile(r"[A-Za-z0-9_]{1,24}")


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


def _status_table(runtime: DemoRuntime) -> Table:
    settings = runtime.settings
    report = build_status(
        StateStore(settings.table, client=runtime.stack.client("dynamodb")),
        runtime.stack.client("s3"),
        settings.bucket,
        DeadLetterQueue(runtime.stack.client("sqs"), settings.dlq_url, settings.key_pattern),
    )
    table = Table(
        title="dumps (newest first)", box=box.SIMPLE_HEAD, show_edge=False, padding=(0, 1, 0, 0)
    )
    table.add_column("dump", no_wrap=True, min_width=23)
    table.add_column("status", no_wrap=True, min_width=17)
    for column, width in (("load", 6), ("dbt", 6), ("rows loaded", 11), ("dup.", 4)):
        table.add_column(column, justify="right", no_wrap=True, width=width)
    table.add_column("note", overflow="fold")
    for line in report.dumps:
        state = line.state
        succeeded = state.status == DumpStatus.SUCCEEDED
        error = state.last_error or {}
        note = "" if succeeded else shorten(error.get("message") or state.reason, 60)
        rows = line.rows_loaded if succeeded else None
        table.add_row(
            state.key.rsplit("/", 1)[-1],
            str(state.status),
            _seconds(state.load_seconds),
            _seconds(state.transform_seconds),
            "-" if rows is None else f"{rows:,}",
            str(state.duplicate_events),
            note,
        )
    table.caption = (
        f"watermark {report.watermark or '-'} | DLQ depth {report.dlq.total if report.dlq else 0}"
    )
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


def _document(result: ScenarioResult, log_path: Path, seconds: float) -> dict[str, Any]:
    return {
        "ok": result.ok,
        "failed_step": (
            {"step": result.failed.step, "title": result.failed.title, "cause": result.failed.cause}
            if result.failed
            else None
        ),
        "seconds": round(seconds, 1),
        "log_file": str(log_path),
        "dates": to_jsonable(result.dates),
        "steps": [to_jsonable(step) for step in result.steps],
        "watermark": to_jsonable(result.watermark),
        "dlq_before_replay": result.dlq_before_replay,
        "replay": result.replay_outcomes,
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


def demo(
    scale: Annotated[
        float,
        typer.Option("--scale", min=0.001, help="Size of the sample dumps (1.0 = 16k rooms)."),
    ] = 0.05,
    keep: Annotated[
        bool, typer.Option("--keep", help="Leave moto, MariaDB and the files up to explore.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the outcome as JSON.")] = False,
    workdir: Annotated[
        Path | None, typer.Option("--workdir", help="Where dumps and the log go (default .demo/).")
    ] = None,
    dsn: Annotated[
        str | None,
        typer.Option(
            "--dsn", help="MariaDB to use (default $DUMPFLOW_DSN, else a throw-away one)."
        ),
    ] = None,
    schema_suffix: Annotated[
        str,
        typer.Option(
            "--schema-suffix",
            help="Use staging<SUFFIX>, silver<SUFFIX>, gold<SUFFIX>, seeds<SUFFIX> instead of "
            "the real schemas (keeps a shared server's warehouse untouched).",
        ),
    ] = "",
) -> None:
    """Run the whole dump flow locally: real handlers, loader and dbt; AWS replaced by moto."""
    if schema_suffix and not SCHEMA_SUFFIX.fullmatch(schema_suffix):
        raise typer.BadParameter(
            f"{schema_suffix!r}: use letters, digits and underscores, at most 24",
            param_hint="--schema-suffix",
        )
    stream = sys.stderr if as_json else sys.stdout
    # Piped output (CI logs, files) gets the 100 columns the tables are laid out for.
    console = Console(file=stream, width=None if stream.isatty() else 100)
    run_dir = workdir or Path.cwd() / ".demo" / dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    log_path = _open_log(run_dir)
    console.print(f"logs: [bold]{log_path}[/bold]")
    started = time.monotonic()
    result: ScenarioResult | None = None
    try:
        with (
            log_path.open("a", encoding="utf-8") as cloud_log,
            demo_runtime(
                DemoLayout(schema_suffix=schema_suffix), Dsn.from_env(dsn), output=cloud_log
            ) as runtime,
        ):
            console.print(
                f"moto at {runtime.endpoint.url}, MariaDB at {runtime.dsn.redacted()}, "
                f"stack [bold]{runtime.layout.stack_name}[/bold] from template.yaml"
            )
            for difference in runtime.local_differences:
                console.print(f"  local setting: {difference}")
            with Progress(
                SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                console=console, transient=True,
            ) as progress:  # fmt: skip
                task = progress.add_task("starting", total=None)

                def on_step(step: StepResult) -> None:
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
                    on_progress=lambda text: progress.update(task, description=text),
                )
                result = scenario.run()
            seconds = time.monotonic() - started
            if not as_json:
                console.print(_status_table(runtime))
                if result.occupancy:
                    console.print(_occupancy_table(result.occupancy))
            if keep:
                _wait_for_interrupt(console, runtime)
    except (MariaDBUnavailable, TemplateError, SampleDumpError) as exc:
        console.print(f"[red]demo setup failed:[/red] {exc}")
        raise typer.Exit(EXIT_SETUP_FAILED) from exc
    except Exception as exc:
        logging.getLogger(__name__).exception("demo stopped")
        console.print(
            f"[red]demo setup failed:[/red] {type(exc).__name__}: {exc} (traceback in {log_path})"
        )
        raise typer.Exit(EXIT_SETUP_FAILED) from exc
    finally:
        if not keep:
            shutil.rmtree(run_dir / "dumps", ignore_errors=True)
    if result is None:
        console.print(f"[red]demo stopped before its first step[/red] (log: {log_path})")
        raise typer.Exit(EXIT_SETUP_FAILED)
    if as_json:
        sys.stdout.write(json.dumps(_document(result, log_path, seconds), indent=2) + "\n")
    if not result.ok:
        failed = result.failed
        cause = f"step {failed.step} ({failed.title}): {failed.cause}" if failed else "incomplete"
        console.print(f"[red]demo failed at {cause}[/red] (log: {log_path})")
        raise typer.Exit(EXIT_STEP_FAILED)
    console.print(f"[green]all 5 steps ended as listed[/green] in {seconds:.0f}s")


def register(app: typer.Typer) -> None:
    """Add ``demo`` to the app."""
    app.command("demo")(demo)

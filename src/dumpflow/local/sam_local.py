"""``make sam-local``: the four functions run by ``sam local invoke`` against the local stack.

``run`` brings up the demo's local AWS (moto, MariaDB) under the dev stack's name, writes the
env-vars file that points every function at it, and invokes each function in a container with
its sample event from ``events/`` (see ``sample_chain``); ``--keep`` leaves it all up for more
invocations by hand. ``env-vars`` writes the file for a deployed stack instead.

    python -m dumpflow.local.sam_local run [--keep] [--env-vars events/env.json]
    python -m dumpflow.local.sam_local env-vars --stack-name dumpflow-dev [--output PATH]
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import sys
import time
from pathlib import Path
from typing import Annotated

import boto3
import typer
from rich.console import Console

from dumpflow.db import Dsn
from dumpflow.local.container_endpoint import NoDockerBridge, bridge_address, container_endpoint
from dumpflow.local.demo_stack import REPO_ROOT, DemoLayout, DemoRuntime, demo_runtime
from dumpflow.local.sam_env import deployed_env_vars, function_names, local_env_vars, write_env_vars
from dumpflow.local.sam_invoke import SamInvokeFailed, SamLocal, local_environment
from dumpflow.local.sample_chain import StepOutcome, run_success_chain
from dumpflow.local.sample_world import SampleWorld
from dumpflow.local.samples import SAMPLE_FUNCTIONS, SAMPLE_STACK_NAME, SampleEvents

EXIT_OUTCOME, EXIT_SETUP = 1, 2
DEFAULT_ENV_VARS = REPO_ROOT / "events" / "env.json"
REGION = "ap-northeast-1"

app = typer.Typer(add_completion=False, no_args_is_help=True)
console = Console(highlight=False, width=None if sys.stdout.isatty() else 100)


def _shown(path: Path) -> str:
    """A path as the README writes it: relative to the repository when inside it."""
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def invoke_command(function: str, event: Path, env_vars: Path) -> str:
    """The command a developer types for one function (from the repository root)."""
    return (
        f"AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing .venv-sam/bin/sam local invoke "
        f"{function} -e {_shown(event)} --env-vars {_shown(env_vars)} --skip-pull-image "
        f"--region {REGION}"
    )


def _print_outcome(outcome: StepOutcome, event: Path) -> None:
    mark = "[green]ok[/green]" if outcome.ok else "[red]UNEXPECTED[/red]"
    console.print(
        f"{mark} {outcome.function} -e {_shown(event)} ({outcome.seconds:.1f} s): "
        f"{json.dumps(outcome.payload)}\n     expected: {outcome.expected}\n"
        f"     observed: {outcome.observed}"
    )


@app.command()
def run(
    sam: Annotated[Path, typer.Option(help="The SAM CLI.")] = REPO_ROOT / ".venv-sam/bin/sam",
    template: Annotated[Path, typer.Option(help="The built template (make sam-build).")] = (
        REPO_ROOT / ".aws-sam/build/template.yaml"
    ),
    env_vars: Annotated[Path, typer.Option(help="Where to write the env-vars file.")] = (
        DEFAULT_ENV_VARS
    ),
    keep: Annotated[bool, typer.Option(help="Leave the stack up for more invocations.")] = False,
    dsn: Annotated[str | None, typer.Option(help="MariaDB (default $DUMPFLOW_DSN).")] = None,
) -> None:
    """Invoke the four functions in containers with their sample events, checking each."""
    if not template.exists():
        console.print(f"[red]no built template at {template}[/red]: run make sam-build")
        raise typer.Exit(EXIT_SETUP)
    try:
        bridge = bridge_address()
    except NoDockerBridge as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(EXIT_SETUP) from exc
    log_path = REPO_ROOT / ".demo" / f"sam-local-{dt.datetime.now():%Y%m%d-%H%M%S}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(filename=log_path, level=logging.INFO, force=True,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")  # fmt: skip
    console.print(f"logs: [bold]{_shown(log_path)}[/bold]")
    started = time.monotonic()
    samples = SampleEvents()
    with (
        log_path.open("a", encoding="utf-8") as cloud_log,
        demo_runtime(DemoLayout(stack_name=SAMPLE_STACK_NAME), Dsn.from_env(dsn),
                     output=cloud_log) as runtime,
        container_endpoint(REGION, bridge) as for_containers,
    ):  # fmt: skip
        world = SampleWorld(runtime, samples)
        write_env_vars(env_vars, local_env_vars(runtime.stack, for_containers.url))
        console.print(
            f"moto at {runtime.endpoint.url} (containers: {for_containers.url}), MariaDB at "
            f"{runtime.dsn.redacted()}, stack [bold]{SAMPLE_STACK_NAME}[/bold] from template.yaml"
            f"\nenv-vars file {_shown(env_vars)}: every function -> this local stack"
        )
        local = SamLocal(sam, template, env_vars, REGION, local_environment(REGION))

        def invoke(function: str, sample: str) -> object:
            return local.invoke(function, samples.path(sample)).payload

        try:
            with contextlib.redirect_stdout(cloud_log):
                outcomes = run_success_chain(world, invoke)
        except SamInvokeFailed as exc:
            console.print(f"[red]sam local invoke failed:[/red] {exc}")
            raise typer.Exit(EXIT_OUTCOME) from exc
        for outcome in outcomes:
            _print_outcome(outcome, samples.path(outcome.sample))
        failed = [o for o in outcomes if not o.ok]
        seconds = time.monotonic() - started
        if keep:
            _wait_for_interrupt(runtime, env_vars, samples)
    if failed:
        console.print(f"[red]{len(failed)} of {len(outcomes)} invocations ended otherwise[/red]")
        raise typer.Exit(EXIT_OUTCOME)
    console.print(f"[green]all {len(outcomes)} invocations ended as expected[/green] in "
                  f"{seconds:.0f} s")  # fmt: skip


def _wait_for_interrupt(runtime: DemoRuntime, env_vars: Path, samples: SampleEvents) -> None:
    console.print(
        "\n[bold]--keep:[/bold] the stack stays up. From the repository root, in another shell "
        "(the dump above has SUCCEEDED: its samples now meet a finished dump):"
    )
    for sample, function in SAMPLE_FUNCTIONS.items():
        console.print(
            f"  {invoke_command(function, samples.path(sample), env_vars)}", soft_wrap=True
        )
    settings = runtime.settings
    exports = {
        "AWS_ENDPOINT_URL": runtime.endpoint.url,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "DUMPFLOW_TABLE": settings.table,
        "DUMPFLOW_BUCKET": settings.bucket,
        "DUMPFLOW_QUEUE_URL": settings.queue_url,
        "DUMPFLOW_DLQ_URL": settings.dlq_url,
    }
    console.print("and to look at the stack:")
    for name, value in exports.items():
        console.print(f"  export {name}='{value}'", soft_wrap=True)
    console.print("  .venv/bin/dumpflow status\nPress Ctrl-C to stop.")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        console.print("stopping")


@app.command("env-vars")
def env_vars_for_stack(
    stack_name: Annotated[str, typer.Option(help="The deployed stack.")] = SAMPLE_STACK_NAME,
    output: Annotated[Path, typer.Option(help="Where to write the file.")] = DEFAULT_ENV_VARS,
    region: Annotated[str, typer.Option(help="The stack's region.")] = REGION,
    profile: Annotated[str | None, typer.Option(help="AWS profile.")] = None,
) -> None:
    """Write the env-vars file for a deployed stack (each function's own environment)."""
    session = boto3.Session(profile_name=profile, region_name=region)
    names = function_names(REPO_ROOT / "template.yaml", stack_name, region)
    write_env_vars(output, deployed_env_vars(session.client("lambda"), names))
    console.print(
        f"wrote {_shown(output)} for stack {stack_name} ({region}).\n[bold yellow]Warning:[/bold "
        "yellow] invoked with it, the functions run on this machine with your credentials "
        "against the deployed stack: they write its state table, send to its DLQ, copy dumps to "
        "processed/, move its watermark and start real Glue runs and Fargate tasks."
    )


if __name__ == "__main__":
    app()

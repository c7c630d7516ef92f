"""Entry point of the ``dumpflow`` console script: one Typer app, commands loaded on use.

``dumpflow --help`` and ``dumpflow --version`` import Typer and nothing else of weight: each
command's module (boto3, the loader, the demo's moto stack) is imported only when that
command runs or shows its own help. ``tests/cli/test_startup.py`` holds the line.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import typer
from typer import _click
from typer.core import TyperCommand, TyperGroup

from dumpflow.cli.globals import EndpointUrl, GlobalOptions, Profile, Region, StackName


@dataclass(frozen=True, slots=True)
class LazyCommand:
    """A command known by name and one-line help until it runs: ``module.register(app)``
    registers it (with its siblings) on a private app."""

    name: str
    module: str
    short_help: str


COMMANDS: Sequence[LazyCommand] = (
    LazyCommand("status", "dumpflow.cli.ops_cmds", "Where the pipeline stands: lease, watermark, "
                "waiting dumps, main queue and DLQ depth and the recent dumps (newest first)."),
    LazyCommand("replay", "dumpflow.cli.ops_cmds", "Move failed dumps from the DLQ back to the "
                "queue, each at most once."),
    LazyCommand("backfill", "dumpflow.cli.ops_cmds", "Re-run a range of dates, oldest first, "
                "from dumps/ or processed/."),
    LazyCommand("load-dump", "dumpflow.cli.load_cmds", "Load a dump into SCHEMA atomically "
                "(shadow schema, one RENAME TABLE)."),
    LazyCommand("validate-dump", "dumpflow.cli.load_cmds", "Parse and policy-check a dump "
                "without a database; non-zero if it would be refused."),
    LazyCommand("sample-dump", "dumpflow.cli.sample_cmds", "Write realistic dumps of the source "
                "system (real mariadb-dump output) + manifests."),
    LazyCommand("demo", "dumpflow.cli.demo_cmds", "Run the whole dump flow locally: real "
                "handlers, loader and dbt; AWS replaced by moto."),
)  # fmt: skip


def load_command(spec: LazyCommand) -> _click.Command:
    """Import the command's module and build its click command (as Typer would)."""
    module: Any = importlib.import_module(spec.module)
    private = typer.Typer(rich_markup_mode="rich", add_completion=False)
    module.register(private)
    built = typer.main.get_command(private)
    if isinstance(built, TyperGroup):
        command = built.commands.get(spec.name)
        if command is None:
            raise LookupError(f"{spec.module} does not register the command {spec.name}")
        return command
    built.name = spec.name
    return built


class _Placeholder(TyperCommand):
    """Stands in for a command in the group's listing; building it would import its module.

    ``make_context`` is the first thing the group asks of a command it is about to run: the
    real command is built there and takes over (its context names the real command)."""

    def __init__(self, spec: LazyCommand) -> None:
        super().__init__(spec.name, short_help=spec.short_help, help=spec.short_help)
        self.spec = spec

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: _click.Context | None = None,
        **extra: Any,
    ) -> _click.Context:
        return load_command(self.spec).make_context(info_name, args, parent=parent, **extra)


class OneLineUsageError(_click.ClickException):
    """A usage error as one line on stderr (exit code 2): ``dumpflow status: Invalid value
    for '--limit': ...``, the command's help named instead of printed."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        _click.echo(self.message, file=file, err=True)


def _one_line(error: _click.exceptions.UsageError) -> _click.ClickException:
    if isinstance(error, _click.exceptions.NoArgsIsHelpError):
        return error
    path = error.ctx.command_path if error.ctx else "dumpflow"
    return OneLineUsageError(f"{path}: {error.format_message()} (see {path} --help)")


class LazyGroup(TyperGroup):
    """The top-level group: every command of COMMANDS present as a placeholder."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        for spec in COMMANDS:
            self.commands.setdefault(spec.name, _Placeholder(spec))

    def list_commands(self, ctx: _click.Context) -> list[str]:
        return [spec.name for spec in COMMANDS]

    def parse_args(self, ctx: _click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except _click.exceptions.UsageError as error:
            raise _one_line(error) from error

    def invoke(self, ctx: _click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except _click.exceptions.UsageError as error:
            raise _one_line(error) from error


app = typer.Typer(
    name="dumpflow",
    cls=LazyGroup,
    help="Event-driven ingestion of daily MySQL dumps: load, inspect, replay, backfill, demo.",
    no_args_is_help=True,
    add_completion=False,
    # Plain click help at the top: rendering it with rich would import rich's markdown and
    # traceback machinery (~0.1 s) before a single command runs. Commands keep rich help.
    rich_markup_mode=None,
)


def _show_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"dumpflow {version('dumpflow')}")
        raise typer.Exit(0)


@app.callback()
def dumpflow(
    ctx: typer.Context,
    profile: Profile = None,
    region: Region = None,
    stack_name: StackName = None,
    endpoint_url: EndpointUrl = None,
    _version: bool = typer.Option(
        False, "--version", is_eager=True, callback=_show_version, help="Print the version."
    ),
) -> None:
    """AWS options given before the command apply to it (``dumpflow --profile p status``)."""
    ctx.obj = GlobalOptions(
        profile=profile, region=region, stack_name=stack_name, endpoint_url=endpoint_url
    )


def main() -> None:
    app()


if __name__ == "__main__":
    main()
